import CIOBenchShim
import Foundation
import Glibc

import IOBenchPlatform

/// What the file's extent map (FIEMAP, with FIEMAP_FLAG_SYNC) shows. Records are
/// counted as FIEMAP returns them: physically adjacent records are not merged
/// (filefrag's summary merges them); `discontinuities` counts the places where the next
/// record does not continue physically, the boundaries a read must be split at.
public struct ExtentSummary: Codable, Sendable, Equatable {
    public var records: Int
    public var written: Int
    public var unwritten: Int
    public var discontinuities: Int
    public var minLength: UInt64
    public var medianLength: UInt64
    public var maxLength: UInt64

    public init(_ map: ExtentMap) {
        records = map.extents.count
        written = map.writtenExtents
        unwritten = map.unwrittenExtents
        discontinuities = map.discontinuities
        let lengths = map.extents.map(\.length).sorted()
        minLength = lengths.first ?? 0
        medianLength = lengths.isEmpty ? 0 : lengths[lengths.count / 2]
        maxLength = lengths.last ?? 0
    }

    enum CodingKeys: String, CodingKey {
        case records, written, unwritten, discontinuities
        case minLength = "min_length"
        case medianLength = "median_length"
        case maxLength = "max_length"
    }
}

/// The outcome of `iobench prepare`: what was asked for, how it was built, and what the
/// extent map shows was achieved.
public struct PrepareReport: Codable, Sendable, Equatable {
    /// Every iobench JSON document names itself (docs/json-schema.md).
    public var schema: String? = "iobench/prepare"
    public var schemaVersion: Int? = 1
    /// The layout, in canonical text (`fragmented:64k`); also stored in the file's
    /// `user.iobench.layout` extended attribute.
    public var layout: String
    public var path: String
    public var size: UInt64
    public var filesystem: String
    public var fsBlockSize: UInt64
    /// How the layout was made: `sequential-writes`, `fallocate`, `ext4-move-ext`,
    /// `xfs-extsize-interleave` or `interleaved-writes` (`+fallocate` for mixed).
    public var method: String
    /// The extent length asked for (fragmented and mixed layouts).
    public var extentBytes: UInt64?
    /// Bytes holding stamped data, from offset 0.
    public var writtenBytes: UInt64
    /// Bytes allocated unwritten, after the written part.
    public var unwrittenBytes: UInt64
    /// Fragmented chunks the layout asked for (fragmented and mixed layouts).
    public var expectedChunks: Int?
    public var extents: ExtentSummary
    /// Filesystem blocks read back with O_DIRECT and found to hold the stamp.
    public var verifiedBlocks: Int
    /// Whether the `user.iobench.layout` marker was set (false where xattrs are unsupported).
    public var marked: Bool

    enum CodingKeys: String, CodingKey {
        case layout, path, size, filesystem, method, extents, marked, schema
        case schemaVersion = "schema_version"
        case fsBlockSize = "fs_block_size"
        case extentBytes = "extent_bytes"
        case writtenBytes = "written_bytes"
        case unwrittenBytes = "unwritten_bytes"
        case expectedChunks = "expected_chunks"
        case verifiedBlocks = "verified_blocks"
    }
}
