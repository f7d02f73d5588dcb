"""Plain records produced by the reader (one dataclass per stream entry kind)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class StreamEntry:
    """One stream directory entry."""

    type: int
    size: int
    rva: int
    name: str


@dataclass(frozen=True, slots=True)
class Thread:
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


@dataclass(frozen=True, slots=True)
class ExceptionRecord:
    thread_id: int
    code: int
    flags: int
    record: int
    address: int
    parameters: list[int]
    context_size: int
    context_rva: int


@dataclass(frozen=True, slots=True)
class SystemInfo:
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


@dataclass(frozen=True, slots=True)
class MiscInfo:
    size_of_info: int
    flags1: int
    process_id: int | None
    process_create_time: int | None
    process_user_time: int | None
    process_kernel_time: int | None


@dataclass(frozen=True, slots=True)
class BreakpadInfo:
    dump_thread_id: int | None
    requesting_thread_id: int | None


@dataclass(frozen=True, slots=True)
class AssertionInfo:
    expression: str
    function: str
    file: str
    line: int
    type: int


@dataclass(slots=True)
class CrashpadInfo:
    """The Crashpad info stream: report/client ids and annotations."""

    version: int
    report_id: str
    client_id: str
    simple_annotations: dict[str, str] = field(default_factory=dict)
    module_annotations: dict[int, dict[str, str]] = field(default_factory=dict)  # module index -> map
    module_list_annotations: dict[int, list[str]] = field(default_factory=dict)
    module_annotation_objects: dict[int, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MacCrashInfoRecord:
    thread: int | None
    dialog_mode: int | None
    abort_cause: int | None
    module: str | None
    message: str | None
    signature_string: str | None
    backtrace: str | None
    message2: str | None


@dataclass(frozen=True, slots=True)
class MemoryInfo:
    base_address: int
    allocation_base: int
    allocation_protection: int
    region_size: int
    state: int
    protection: int
    type: int


@dataclass(frozen=True, slots=True)
class HandleDescriptor:
    handle: int
    type_name: str | None
    object_name: str | None
    attributes: int
    granted_access: int
    handle_count: int
    pointer_count: int
