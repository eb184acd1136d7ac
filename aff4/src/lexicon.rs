//! IRIs of the AFF4 vocabulary, as full strings.

/// The AFF4 standard namespace.
pub const AFF4: &str = "http://aff4.org/Schema#";
/// The legacy (Evimetry pre-standard) namespace, rewritten to [`AFF4`] on parse.
pub const AFF4_LEGACY: &str = "http://afflib.org/2009/aff4#";
/// rdf namespace.
pub const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
/// xsd namespace.
pub const XSD: &str = "http://www.w3.org/2001/XMLSchema#";
/// memory: namespace.
pub const MEMORY: &str = "http://aff4.org/Schema#memory/";
/// rdf:type.
pub const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";

macro_rules! iris {
    ($($(#[$m:meta])* $name:ident = $ns:ident + $local:literal;)*) => {
        $($(#[$m])* pub const $name: &str = concat!(iris!(@ns $ns), $local);)*
    };
    (@ns AFF4) => { "http://aff4.org/Schema#" };
    (@ns XSD) => { "http://www.w3.org/2001/XMLSchema#" };
    (@ns MEMORY) => { "http://aff4.org/Schema#memory/" };
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
