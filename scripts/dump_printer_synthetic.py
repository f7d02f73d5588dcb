"""Write the synthetic dumps of tests/data/dump_printer/synthetic/: stream kinds and CPU contexts the corpus lacks
(MIPS, ARM64_OLD, MIPS64 and PPC contexts; PDB 2.0 / short / ELF / unknown CodeView records and a zero-size module;
unloaded modules, thread names, memory info, v1 and v2 handles (an object-information chain), mac boot args,
assertion, Linux text streams with NULs and bad UTF-8; Memory64List, an exception without system info, partial
Breakpad info, MISC_INFO_2).

    python3 scripts/dump_printer_synthetic.py
"""

import struct
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "dump_printer" / "synthetic"


class W:
    def __init__(self):
        self.streams = []
        self.blobs = b""
        self.base = 0

    def build(self, streams):
        # streams: list of (type, callable(offset_of_tail)->bytes) ; tail blobs appended after
        n = len(streams)
        hdr = 32
        dir_ = 12 * n
        datas = []
        # two-pass: compute sizes with tail offset placeholder
        sizes = [len(f(0)) for _, f in streams]
        tail_off = hdr + dir_ + sum(sizes)
        datas = [f(tail_off) for _, f in streams]
        body = b""
        d = b""
        for (t, _), data in zip(streams, datas, strict=True):
            d += struct.pack("<III", t, len(data), hdr + dir_ + len(body))
            body += data
        return struct.pack("<IIIIIIQ", 0x504D444D, 0xA793, n, hdr, 0, 0x5F000000, 0) + d + body


def s16(t):
    b = t.encode("utf-16-le")
    return struct.pack("<I", len(b)) + b + b"\0\0"


def s8(t):
    b = t.encode()
    return struct.pack("<I", len(b)) + b + b"\0"


def sysinfo(arch, platform, csd_rva=0):
    return struct.pack("<HHHBBIIIIIHH", arch, 6, 0x1234, 2, 1, 10, 0, 19041, platform, csd_rva, 0, 0) + bytes(
        24
    )


def dumps():
    out = {}
    # 1. MIPS + ARM64_OLD contexts and thread with stack, handles v1, unloaded, thread names, memory info, pdb20
    for arch, ctxsize, flags, fmt in (
        (1, 600, 0x40002, "<I"),
        (0x8003, 796, 0x80000002, "<Q"),
        (0x8004, 600, 0x80002, "<I"),
        (3, 600, 0x20000001, "<I"),
    ):
        w = W()

        def threads(tail, arch=arch, ctxsize=ctxsize, flags=flags, fmt=fmt):
            ctx_rva = tail
            stack_rva = tail + ctxsize
            return struct.pack("<I", 1) + struct.pack(
                "<IIIIQQIIII", 7, 0, 0, 0, 0x1000, 0x8000, 32, stack_rva, ctxsize, ctx_rva
            )

        def tailblob(arch=arch, ctxsize=ctxsize, flags=flags, fmt=fmt):
            ctx = bytearray(ctxsize)
            struct.pack_into(fmt, ctx, 0, flags)
            for i in range(8, ctxsize - 8, 8):
                struct.pack_into("<Q", ctx, i, i * 0x101)
            return bytes(ctx) + bytes(range(32))

        blob = tailblob()
        raw = w.build([(3, threads), (7, lambda t, arch=arch: sysinfo(arch, 0x8201))]) + blob
        out[f"ctx-{arch:x}"] = raw

    # 2. modules: pdb20, short RSDS, zero-size module, ELF build id, unknown cv; unloaded list; thread names; memory info; handles
    def modlist(tail):
        name_rva = tail
        cv_rva = tail + 64

        def m(base, size, cv_size, cv_off):
            return (
                struct.pack("<QIIII", base, size, 0, 0x40000000, name_rva)
                + struct.pack("<13I", 0xFEEF04BD, 0x10000, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0)
                + struct.pack("<IIII", cv_size, cv_rva + cv_off if cv_size else 0, 0, 0)
                + bytes(16)
            )

        return (
            struct.pack("<I", 4)
            + m(0x1000, 0x100, 24, 0)
            + m(0x2000, 0, 0, 0)
            + m(0x3000, 0x100, 20, 32)
            + m(0x4000, 0x100, 6, 64)
        )

    names_blob = s16("libfoo.so").ljust(64, b"\0")
    cv_blob = (
        (b"NB10" + struct.pack("<III", 0, 0x3A2B1C0D, 5) + b"foo.pdb\0" + bytes(4)).ljust(32, b"\0")
        + (b"LEpB" + bytes(range(1, 17))).ljust(32, b"\0")
        + b"XYZW\x01\x02"
    )
    w = W()
    raw = w.build([(4, modlist), (7, lambda t: sysinfo(9, 0x8201))]) + names_blob + cv_blob
    out["modules-linux"] = raw

    # 3. unloaded + thread names + memory info + handles(v1) + bootargs + linux raw streams
    def unloaded(tail):
        return (
            struct.pack("<III", 12, 24, 2)
            + struct.pack("<QIIII", 0x10000, 0x2000, 7, 0x5F000000, tail)
            + struct.pack("<QIIII", 0x20000, 0x1000, 8, 0, tail)
        )

    def tnames(tail):
        return (
            struct.pack("<I", 3)
            + struct.pack("<IQ", 9, tail)
            + struct.pack("<IQ", 3, tail + 0x20)
            + struct.pack("<IQ", 5, 0xFFFFFFFF)
        )

    def meminfo(tail):
        return (
            struct.pack("<IIQ", 16, 48, 2)
            + struct.pack("<QQIIQIIII", 0x1000, 0x1000, 4, 0, 0x2000, 0x1000, 4, 0x20000, 0) * 2
        )

    def handles(tail):
        return (
            struct.pack("<III", 16, 32, 2)
            + bytes(4)
            + struct.pack("<QIIIIII", 4, tail + 0x40, 0, 1, 2, 3, 4)
            + struct.pack("<QIIIIII", 8, 0, tail, 0, 0, 0, 0)
        )

    def bootargs(tail):
        return struct.pack("<IQ", 0x4D7A0002, tail + 0x60)

    tail = (
        s16("worker").ljust(0x20, b"\0")
        + s16("main").ljust(0x20, b"\0")
        + s16("File").ljust(0x20, b"\0")
        + s16("-v debug=1").ljust(0x40, b"\0")
    )
    w = W()
    raw = (
        w.build(
            [
                (14, unloaded),
                (24, tnames),
                (16, meminfo),
                (12, handles),
                (0x4D7A0002, bootargs),
                (0x47670006, lambda t: b"/usr/bin/app\0--flag\0"),
                (0x4D7A0004, lambda t: b'{"x": 1}'),
                (0x4D7A0003, lambda t: b"Limit Max\n\xff\xfe bad utf8\0"),
                (7, lambda t: sysinfo(5, 0x8203)),
                (
                    0x47670002,
                    lambda t: (
                        ("x > 0".encode("utf-16-le").ljust(256, b"\0"))
                        + ("f".encode("utf-16-le").ljust(256, b"\0"))
                        + ("a.c".encode("utf-16-le").ljust(256, b"\0"))
                        + struct.pack("<II", 12, 1)
                    ),
                ),
            ]
        )
        + tail
    )
    out["misc-streams"] = raw

    # 4. memory64 list + exception with no system info, breakpad info partial validity, misc info v2
    def mem64(tail):
        return struct.pack("<QQ", 2, tail) + struct.pack("<QQ", 0x7000, 16) + struct.pack("<QQ", 0x9000, 20)

    def exc(tail):
        return (
            struct.pack("<IIIIQQII", 1, 0, 0xC0000005, 0, 0, 0x1234, 3, 0)
            + struct.pack("<15Q", *range(15))
            + struct.pack("<II", 0, 0)
        )

    def misc2(tail):
        return struct.pack("<IIIIII", 44, 5, 77, 0x5F000000, 1, 2) + struct.pack(
            "<5I", 3000, 2000, 3000, 1, 0
        )

    w = W()
    raw = w.build(
        [(9, mem64), (6, exc), (0xF, misc2), (0x47670001, lambda t: struct.pack("<III", 2, 5, 6))]
    ) + bytes(range(36))
    out["mem64-exception"] = raw
    # 5. v2 handle descriptors with a two-element object-information chain
    info_rva = 32 + 12 + 12 + 40
    handles_v2 = struct.pack("<III", 12, 40, 1) + struct.pack("<QIIIIIIII", 4, 0, 0, 0, 0, 1, 1, info_rva, 0)
    chain = struct.pack("<III", info_rva + 12, 2, 12) + struct.pack("<III", 0, 5, 16)
    out["handles-v2"] = (
        struct.pack("<IIIIIIQ", 0x504D444D, 0xA793, 1, 32, 0, 0, 0)
        + struct.pack("<III", 12, len(handles_v2), 44)
        + handles_v2
        + chain
    )
    return out


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for name, raw in dumps().items():
        (OUT / f"{name}.dmp").write_bytes(raw)
