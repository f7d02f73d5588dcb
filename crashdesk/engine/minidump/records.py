"""Plain records produced by the reader, one class per stream entry kind.

The kinds a dump holds many of (stream entries, threads, memory info, handles) are tuple records
(:class:`TupleRecord`: a tuple with named fields, as cheap to make as a named tuple, each field's type in the
docstring; not ``typing.NamedTuple``: no :mod:`typing`, ~3 ms of every stackwalk); a stream read once gives a
record (:class:`Record`). Neither compiles anything when it is defined (ARCHITECTURE.md "Imports and start-up")."""

from __future__ import annotations

from crashdesk.engine.record_class import Record, TupleRecord


class StreamEntry(TupleRecord, fields="type size rva name"):
    """One stream directory entry: ``type``, ``size``, ``rva`` (int) and the stream type's ``name``."""

    __slots__ = ()


class Thread(TupleRecord, fields="thread_id suspend_count priority_class priority teb stack_start stack_size "
                                "stack_rva context_size context_rva"):
    """One thread list entry; every field an int."""

    __slots__ = ()


class ExceptionRecord(Record, frozen=True, slots=True):
    """The exception stream: the faulting thread, exception code, flags, address and parameters."""

    thread_id: int
    code: int
    flags: int
    record: int
    address: int
    parameters: list[int]
    context_size: int
    context_rva: int
    raw_parameters: tuple[int, ...] = ()  # all 15 parameter slots, whatever number_parameters says


class SystemInfo(Record, frozen=True, slots=True):
    """The system info stream: CPU and operating system."""

    processor_architecture: int
    processor_level: int
    processor_revision: int
    number_of_processors: int
    product_type: int
    major_version: int
    minor_version: int
    build_number: int
    platform_id: int
    csd_version: str | None
    suite_mask: int
    vendor_id: str
    version_information: int
    feature_information: int
    amd_extended_cpu_features: int
    cpu_arch: str
    os: str
    arm_cpuid: int = 0  # the CPU union read as ARM: MIDR (CPUID register), Linux ELF hwcaps
    arm_hwcaps: int = 0


class MiscInfo(Record, frozen=True, slots=True):
    """The misc info stream: process id and times, when present."""

    size_of_info: int
    flags1: int
    process_id: int | None
    process_create_time: int | None
    process_user_time: int | None
    process_kernel_time: int | None


class BreakpadInfo(Record, frozen=True, slots=True):
    """Breakpad's info stream: the dumping and requesting threads, when valid."""

    dump_thread_id: int | None
    requesting_thread_id: int | None


class AssertionInfo(Record, frozen=True, slots=True):
    """The assertion stream: an invalid-parameter or pure-virtual-call report."""

    expression: str
    function: str
    file: str
    line: int
    type: int


class CrashpadInfo:
    """The Crashpad info stream: report/client ids and annotations."""

    __slots__ = ("version", "report_id", "client_id", "simple_annotations", "module_annotations",
                 "module_list_annotations", "module_annotation_objects")  # fmt: skip

    def __init__(self, version: int, report_id: str, client_id: str, simple_annotations: dict[str, str]) -> None:
        self.version = version
        self.report_id = report_id
        self.client_id = client_id
        self.simple_annotations = simple_annotations
        self.module_annotations: dict[int, dict[str, str]] = {}  # module index -> map
        self.module_list_annotations: dict[int, list[str]] = {}
        self.module_annotation_objects: dict[int, dict[str, str]] = {}

    def __repr__(self) -> str:
        return f"CrashpadInfo(version={self.version}, report_id={self.report_id!r}, client_id={self.client_id!r})"


class MacCrashInfoRecord(Record, frozen=True, slots=True):
    """One record of macOS's crash info stream (``__crash_info`` strings and values)."""

    thread: int | None
    dialog_mode: int | None
    abort_cause: int | None
    module: str | None
    message: str | None
    signature_string: str | None
    backtrace: str | None
    message2: str | None


class MemoryInfo(TupleRecord, fields="base_address allocation_base allocation_protection region_size state "
                                    "protection type"):
    """One memory info list entry; every field an int."""

    __slots__ = ()


class HandleDescriptor(TupleRecord, fields="handle type_name object_name attributes granted_access handle_count "
                                          "pointer_count"):
    """One handle data entry: ``type_name`` and ``object_name`` are str or None, the other fields ints."""

    __slots__ = ()
