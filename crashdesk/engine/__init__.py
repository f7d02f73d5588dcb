"""Pure computation over bytes and files it is given: minidump reading, unwinding, symbol files, signatures,
the search language's parser. No Qt, no network, no SQLite."""
