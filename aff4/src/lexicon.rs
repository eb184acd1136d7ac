//! IRIs of the AFF4 vocabulary, as full strings.

/// The AFF4 standard namespace.
pub const AFF4: &str = "http://aff4.org/Schema#";
/// The legacy (Evimetry pre-standard) namespace, rewritten to [`AFF4`] on parse.
pub const AFF4_LEGACY: &str = "http://afflib.org/2009/aff4#";
/// rdf namespace.
pub const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
/// xsd namespace.
pub const XSD: &str = "http://www.w3.org/2001/XMLSchema#";
/// pmem: namespace: pmem-aff4's acquisition metadata (tool, times, source, host facts),
/// declared in `schemas/aff4.ttl`.
pub const PMEM: &str = "https://pmem-aff4.github.io/schema#";
/// memory: namespace.
pub const MEMORY: &str = "http://aff4.org/Schema#memory/";
/// disk: namespace.
pub const DISK: &str = "http://aff4.org/Schema#disk/";
/// rdfs namespace (declared by rdflib/pyaff4 output).
pub const RDFS: &str = "http://www.w3.org/2000/01/rdf-schema#";
/// The volatile namespace (pyaff4/c-aff4 internal, never serialised).
pub const AFF4_VOLATILE: &str = "http://aff4.org/VolatileSchema#";
/// rdf:type.
pub const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";

macro_rules! iris {
    ($($(#[$m:meta])* $name:ident = $ns:ident + $local:literal;)*) => {
        $($(#[$m])* pub const $name: &str = concat!(iris!(@ns $ns), $local);)*
    };
    (@ns AFF4) => { "http://aff4.org/Schema#" };
    (@ns XSD) => { "http://www.w3.org/2001/XMLSchema#" };
    (@ns MEMORY) => { "http://aff4.org/Schema#memory/" };
    (@ns DISK) => { "http://aff4.org/Schema#disk/" };
}

iris! {
    /// aff4:Image
    IMAGE = AFF4 + "Image";
    /// aff4:DiskImage
    DISK_IMAGE = AFF4 + "DiskImage";
    /// aff4:ContiguousImage
    CONTIGUOUS_IMAGE = AFF4 + "ContiguousImage";
    /// aff4:MemoryImage
    MEMORY_IMAGE = AFF4 + "MemoryImage";
    /// aff4:Map
    MAP = AFF4 + "Map";
    /// aff4:ImageStream
    IMAGE_STREAM = AFF4 + "ImageStream";
    /// aff4:ZipVolume
    ZIP_VOLUME = AFF4 + "ZipVolume";
    /// aff4:FileImage (AFF4-L)
    FILE_IMAGE = AFF4 + "FileImage";
    /// aff4:ZipSegment (AFF4-L)
    ZIP_SEGMENT = AFF4 + "ZipSegment";
    /// aff4:BlockHashes
    BLOCK_HASHES = AFF4 + "BlockHashes";
    /// aff4:size
    SIZE = AFF4 + "size";
    /// aff4:chunkSize
    CHUNK_SIZE = AFF4 + "chunkSize";
    /// aff4:chunksInSegment
    CHUNKS_IN_SEGMENT = AFF4 + "chunksInSegment";
    /// aff4:compressionMethod
    COMPRESSION_METHOD = AFF4 + "compressionMethod";
    /// aff4:dataStream
    DATA_STREAM = AFF4 + "dataStream";
    /// aff4:stored
    STORED = AFF4 + "stored";
    /// aff4:target
    TARGET = AFF4 + "target";
    /// aff4:contains
    CONTAINS = AFF4 + "contains";
    /// aff4:hash
    HASH = AFF4 + "hash";
    /// aff4:category
    CATEGORY = AFF4 + "category";
    /// aff4:dependentStream
    DEPENDENT_STREAM = AFF4 + "dependentStream";
    /// aff4:blockMapHash
    BLOCK_MAP_HASH = AFF4 + "blockMapHash";
    /// aff4:mapGapDefaultStream
    MAP_GAP_DEFAULT_STREAM = AFF4 + "mapGapDefaultStream";
    /// aff4:originalFileName (AFF4-L)
    ORIGINAL_FILE_NAME = AFF4 + "originalFileName";
    /// aff4:original_filename (c-aff4 logical files)
    ORIGINAL_FILENAME_CAFF4 = AFF4 + "original_filename";
    /// aff4:creationTime
    CREATION_TIME = AFF4 + "creationTime";
    /// aff4:memoryPageTableEntryOffset (CR3 / DTB)
    MEMORY_PAGE_TABLE_ENTRY_OFFSET = AFF4 + "memoryPageTableEntryOffset";
    /// aff4:Zero
    ZERO = AFF4 + "Zero";
    /// aff4:UnknownData
    UNKNOWN_DATA = AFF4 + "UnknownData";
    /// aff4:UnreadableData
    UNREADABLE_DATA = AFF4 + "UnreadableData";
    /// aff4:FFDevice
    FF_DEVICE = AFF4 + "FFDevice";
    /// memory:physical
    MEMORY_PHYSICAL = MEMORY + "physical";
    /// xsd:long
    XSD_LONG = XSD + "long";
    /// xsd:int
    XSD_INT = XSD + "int";
    /// xsd:integer
    XSD_INTEGER = XSD + "integer";
    /// xsd:string
    XSD_STRING = XSD + "string";
    /// xsd:dateTime
    XSD_DATETIME = XSD + "dateTime";
    /// xsd:boolean
    XSD_BOOLEAN = XSD + "boolean";
}

// Further classes (AFF4-FORMAT §5.2; REF, c-aff4, pyaff4, AFF4-L).
iris! {
    /// aff4:VolumeImage (c-aff4)
    VOLUME_IMAGE = AFF4 + "VolumeImage";
    /// aff4:DiscontiguousImage (c-aff4)
    DISCONTIGUOUS_IMAGE = AFF4 + "DiscontiguousImage";
    /// aff4:Folder (AFF4-L)
    FOLDER = AFF4 + "Folder";
    /// aff4:CaseDetails (Evimetry)
    CASE_DETAILS = AFF4 + "CaseDetails";
    /// aff4:CaseNotes (Evimetry)
    CASE_NOTES = AFF4 + "CaseNotes";
    /// aff4:TimeStamps (Evimetry)
    TIME_STAMPS = AFF4 + "TimeStamps";
    /// aff4:Volume, the value of the volume's `aff4:interface` (REF)
    VOLUME = AFF4 + "Volume";
    /// aff4:zip_segment (pyaff4's internal and c-aff4's member type; still in old AFF4-L
    /// files; we add it to small logical files so that c-aff4 opens them)
    ZIP_SEGMENT_LEGACY = AFF4 + "zip_segment";
    /// aff4:zip_volume (pyaff4 internal type; the pre-standard volume type)
    ZIP_VOLUME_LEGACY = AFF4 + "zip_volume";
    /// aff4:file (c-aff4 member type)
    FILE = AFF4 + "file";
    /// aff4:stream (pre-standard Evimetry ImageStream type)
    STREAM_LEGACY = AFF4 + "stream";
    /// aff4:map (pre-standard and Rekall map type)
    MAP_LEGACY = AFF4 + "map";
    /// aff4:image (Rekall/Scudette image stream type)
    IMAGE_SCUDETTE = AFF4 + "image";
    /// aff4:EncryptedStream (pyaff4 1.2, unsupported)
    ENCRYPTED_STREAM = AFF4 + "EncryptedStream";
}

// Hash datatypes (AFF4-FORMAT §6).
iris! {
    /// aff4:MD5
    HASH_MD5 = AFF4 + "MD5";
    /// aff4:SHA1
    HASH_SHA1 = AFF4 + "SHA1";
    /// aff4:SHA256
    HASH_SHA256 = AFF4 + "SHA256";
    /// aff4:SHA512
    HASH_SHA512 = AFF4 + "SHA512";
    /// aff4:blake2b (STD and c-aff4 spelling)
    HASH_BLAKE2B = AFF4 + "blake2b";
    /// aff4:Blake2b (pyaff4 and REF spelling)
    HASH_BLAKE2B_PYAFF4 = AFF4 + "Blake2b";
    /// aff4:blockMapHashSHA512 (the Image's block-map hash in REF)
    HASH_BLOCK_MAP_SHA512 = AFF4 + "blockMapHashSHA512";
}

// Stream, map and hash predicates (AFF4-FORMAT §3.4, §4, §6).
iris! {
    /// aff4:version (ImageStream format version, REF `"1"^^xsd:int`)
    VERSION = AFF4 + "version";
    /// aff4:interface
    INTERFACE = AFF4 + "interface";
    /// aff4:imageStreamHash
    IMAGE_STREAM_HASH = AFF4 + "imageStreamHash";
    /// aff4:imageStreamIndexHash
    IMAGE_STREAM_INDEX_HASH = AFF4 + "imageStreamIndexHash";
    /// aff4:mapHash
    MAP_HASH = AFF4 + "mapHash";
    /// aff4:mapIdxHash
    MAP_IDX_HASH = AFF4 + "mapIdxHash";
    /// aff4:mapPathHash
    MAP_PATH_HASH = AFF4 + "mapPathHash";
    /// aff4:mapPointHash
    MAP_POINT_HASH = AFF4 + "mapPointHash";
    /// aff4:blockHashesHash (pre-standard)
    BLOCK_HASHES_HASH = AFF4 + "blockHashesHash";
    /// aff4:linearBlockHash (pre-standard)
    LINEAR_BLOCK_HASH = AFF4 + "linearBlockHash";
    /// aff4:mapVersion (pre-standard)
    MAP_VERSION = AFF4 + "mapVersion";
    /// aff4:CompressionMethod (pre-standard spelling of compressionMethod)
    COMPRESSION_METHOD_LEGACY = AFF4 + "CompressionMethod";
    /// aff4:chunk_size (pre-standard/Rekall spelling of chunkSize)
    CHUNK_SIZE_LEGACY = AFF4 + "chunk_size";
    /// aff4:chunks_in_segment (pre-standard spelling of chunksInSegment)
    CHUNKS_IN_SEGMENT_LEGACY = AFF4 + "chunks_in_segment";
    /// aff4:chunks_per_segment (Rekall spelling of chunksInSegment)
    CHUNKS_PER_SEGMENT_SCUDETTE = AFF4 + "chunks_per_segment";
    /// aff4:compression (Rekall spelling of compressionMethod)
    COMPRESSION_SCUDETTE = AFF4 + "compression";
    /// aff4:CreationTime (pre-standard spelling of creationTime)
    CREATION_TIME_LEGACY = AFF4 + "CreationTime";
}

// Memory-image facts (pyaff4 lexicon, c-aff4 pmem).
iris! {
    /// memory:virtual
    MEMORY_VIRTUAL = MEMORY + "virtual";
    /// memory:pagefile
    MEMORY_PAGEFILE = MEMORY + "pagefile";
    /// memory:pagefile_number
    MEMORY_PAGEFILE_NUMBER = MEMORY + "pagefile_number";
    /// disk:raw
    DISK_RAW = DISK + "raw";
    /// disk:partition
    DISK_PARTITION = DISK + "partition";
    /// aff4:NTKernelBase
    NT_KERNEL_BASE = AFF4 + "NTKernelBase";
    /// aff4:OSXKernelPhysicalOffset
    OSX_KERNEL_PHYSICAL_OFFSET = AFF4 + "OSXKernelPhysicalOffset";
    /// aff4:OSXKALSRSlide
    OSX_KASLR_SLIDE = AFF4 + "OSXKALSRSlide";
    /// aff4:OSXDTBPhysicalOffset
    OSX_DTB_PHYSICAL_OFFSET = AFF4 + "OSXDTBPhysicalOffset";
}

// AFF4-L logical files (AFF4-FORMAT §7).
iris! {
    /// aff4:lastWritten
    LAST_WRITTEN = AFF4 + "lastWritten";
    /// aff4:lastAccessed
    LAST_ACCESSED = AFF4 + "lastAccessed";
    /// aff4:recordChanged
    RECORD_CHANGED = AFF4 + "recordChanged";
    /// aff4:birthTime
    BIRTH_TIME = AFF4 + "birthTime";
    /// xsd:datetime (wrong case, written by old pyaff4 in REF `dream.aff4`)
    XSD_DATETIME_MISSPELT = XSD + "datetime";
}

// Disk-image and case metadata (Evimetry REF).
iris! {
    /// aff4:blockSize
    BLOCK_SIZE = AFF4 + "blockSize";
    /// aff4:sectorCount
    SECTOR_COUNT = AFF4 + "sectorCount";
    /// aff4:acquisitionCompletionState
    ACQUISITION_COMPLETION_STATE = AFF4 + "acquisitionCompletionState";
    /// aff4:diskDeviceName
    DISK_DEVICE_NAME = AFF4 + "diskDeviceName";
    /// aff4:diskDeviceRole
    DISK_DEVICE_ROLE = AFF4 + "diskDeviceRole";
    /// aff4:diskDeviceType
    DISK_DEVICE_TYPE = AFF4 + "diskDeviceType";
    /// aff4:diskFirmware
    DISK_FIRMWARE = AFF4 + "diskFirmware";
    /// aff4:diskInterfaceType
    DISK_INTERFACE_TYPE = AFF4 + "diskInterfaceType";
    /// aff4:diskMake
    DISK_MAKE = AFF4 + "diskMake";
    /// aff4:diskModel
    DISK_MODEL = AFF4 + "diskModel";
    /// aff4:diskSerial
    DISK_SERIAL = AFF4 + "diskSerial";
    /// aff4:diskNumberOfPartitions
    DISK_NUMBER_OF_PARTITIONS = AFF4 + "diskNumberOfPartitions";
    /// aff4:diskPartitionTableType
    DISK_PARTITION_TABLE_TYPE = AFF4 + "diskPartitionTableType";
    /// aff4:caseName
    CASE_NAME = AFF4 + "caseName";
    /// aff4:caseDescription
    CASE_DESCRIPTION = AFF4 + "caseDescription";
    /// aff4:caseNumber
    CASE_NUMBER = AFF4 + "caseNumber";
    /// aff4:evidenceNumber
    EVIDENCE_NUMBER = AFF4 + "evidenceNumber";
    /// aff4:examiner
    EXAMINER = AFF4 + "examiner";
    /// aff4:notes
    NOTES = AFF4 + "notes";
    /// aff4:timestamp
    TIMESTAMP = AFF4 + "timestamp";
    /// aff4:startTime
    START_TIME = AFF4 + "startTime";
    /// aff4:endTime
    END_TIME = AFF4 + "endTime";
    /// aff4:operation
    OPERATION = AFF4 + "operation";
    /// aff4:timeSource
    TIME_SOURCE = AFF4 + "timeSource";
}

// Compression method IRIs (AFF4-FORMAT §3.3).
/// Snappy (`aff4:compressionMethod`).
pub const COMPRESSION_SNAPPY: &str = "http://code.google.com/p/snappy/";
/// Snappy, Rekall spelling.
pub const COMPRESSION_SNAPPY_SCUDETTE: &str = "https://github.com/google/snappy";
/// zlib (RFC 1950).
pub const COMPRESSION_ZLIB: &str = "https://www.ietf.org/rfc/rfc1950.txt";
/// "Deflate" (RFC 1951; STD and c-aff4 spelling; c-aff4 actually writes zlib under it).
pub const COMPRESSION_DEFLATE: &str = "https://tools.ietf.org/html/rfc1951";
/// LZ4 block.
pub const COMPRESSION_LZ4: &str = "https://code.google.com/p/lz4/";
iris! {
    /// aff4:NullCompressor (stored chunks)
    COMPRESSION_NONE = AFF4 + "NullCompressor";
    /// aff4:compression/stored (pyaff4 alternative for stored chunks)
    COMPRESSION_STORED = AFF4 + "compression/stored";
}

// The remaining XML Schema types the producers use.
iris! {
    /// xsd:unsignedInt
    XSD_UNSIGNED_INT = XSD + "unsignedInt";
    /// xsd:unsignedLong
    XSD_UNSIGNED_LONG = XSD + "unsignedLong";
    /// xsd:decimal
    XSD_DECIMAL = XSD + "decimal";
}
