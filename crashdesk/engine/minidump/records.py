"""Plain records produced by the reader (one named tuple per stream entry kind)."""

# No `from __future__ import annotations`: typing.NamedTuple compiles every string annotation (a
# ForwardRef each), which doubles the cost of building the classes below on every start.

from typing import NamedTuple


class StreamEntry(NamedTuple):
    """One stream directory entry."""

    type: int
    size: int
    rva: int
    name: str


class Thread(NamedTuple):
    thread_id: int
    suspend_count: int
    priority_class: int
    priority: int
    teb: int
    stack_start: int
    stack_size: int
    stack_rva: int
    context_size: int
    context_rva: int


class ExceptionRecord(NamedTuple):
    thread_id: int
    code: int
    flags: int
    record: int
    address: int
    parameters: list[int]
    context_size: int
    context_rva: int
    raw_parameters: tuple[int, ...] = ()  # all 15 parameter slots, whatever number_parameters says


class SystemInfo(NamedTuple):
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


class MiscInfo(NamedTuple):
    size_of_info: int
    flags1: int
    process_id: int | None
    process_create_time: int | None
    process_user_time: int | None
    process_kernel_time: int | None


class BreakpadInfo(NamedTuple):
    dump_thread_id: int | None
    requesting_thread_id: int | None


class AssertionInfo(NamedTuple):
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


class MacCrashInfoRecord(NamedTuple):
    thread: int | None
    dialog_mode: int | None
    abort_cause: int | None
    module: str | None
    message: str | None
    signature_string: str | None
    backtrace: str | None
    message2: str | None


class MemoryInfo(NamedTuple):
    base_address: int
    allocation_base: int
    allocation_protection: int
    region_size: int
    state: int
    protection: int
    type: int


class HandleDescriptor(NamedTuple):
    handle: int
    type_name: str | None
    object_name: str | None
    attributes: int
    granted_access: int
    handle_count: int
    pointer_count: int
