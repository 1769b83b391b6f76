import CIOBenchShim
import Glibc
import IOBenchPlatform

/// One FIEMAP record: a run of the file mapped to one place on the device.
public struct Extent: Codable, Sendable, Equatable {
    public var logical: UInt64
    public var physical: UInt64
    public var length: UInt64
    public var flags: UInt32

    public init(logical: UInt64, physical: UInt64, length: UInt64, flags: UInt32) {
        self.logical = logical
        self.physical = physical
        self.length = length
        self.flags = flags
    }

    public var end: UInt64 { logical + length }
    public var physicalEnd: UInt64 { physical + length }

    // FIEMAP_EXTENT_* flags (linux/fiemap.h).
    public static let last: UInt32 = 0x0001
    public static let unknown: UInt32 = 0x0002
    public static let delalloc: UInt32 = 0x0004
    public static let encoded: UInt32 = 0x0008
    public static let dataEncrypted: UInt32 = 0x0080
    public static let notAligned: UInt32 = 0x0100
    public static let dataInline: UInt32 = 0x0200
    public static let dataTail: UInt32 = 0x0400
    public static let unwritten: UInt32 = 0x0800
    public static let merged: UInt32 = 0x1000
    public static let shared: UInt32 = 0x2000

    public var isUnwritten: Bool { flags & Self.unwritten != 0 }
    /// Data that sits on the device as plain blocks at `physical`: written, located,
    /// not encoded, encrypted, inline or packed.
    public var isPlainWritten: Bool {
        flags & (Self.unwritten | Self.unknown | Self.delalloc | Self.encoded | Self.dataEncrypted
            | Self.notAligned | Self.dataInline | Self.dataTail) == 0
    }

    public var flagNames: [String] {
        let names: [(UInt32, String)] = [
            (Self.last, "last"), (Self.unknown, "unknown"), (Self.delalloc, "delalloc"), (Self.encoded, "encoded"),
            (Self.dataEncrypted, "encrypted"), (Self.notAligned, "not_aligned"), (Self.dataInline, "inline"),
            (Self.dataTail, "tail"), (Self.unwritten, "unwritten"), (Self.merged, "merged"), (Self.shared, "shared"),
        ]
        return names.filter { flags & $0.0 != 0 }.map(\.1)
    }
}

/// A file's extent map, read with FIEMAP (FIEMAP_FLAG_SYNC, so freshly written data
/// is allocated and located), looping until the extent flagged last.
public struct ExtentMap: Sendable {
    public var extents: [Extent]
    public var fileSize: UInt64

    public init(extents: [Extent], fileSize: UInt64) {
        self.extents = extents
        self.fileSize = fileSize
    }

    public static func read(fd: Int32, path: String) throws(IOBenchError) -> ExtentMap {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .runFailed("cannot stat \(path): \(Errno.current)") }
        let size = UInt64(st.st_size)
        var extents: [Extent] = []
        let batch: UInt32 = 512
        var raw = [fiemap_extent](repeating: fiemap_extent(), count: Int(batch))
        var start: UInt64 = 0
        while start < size {
            let n = raw.withUnsafeMutableBufferPointer {
                iob_fiemap(fd, start, UInt64.max - start, IOB_FIEMAP_FLAG_SYNC, $0.baseAddress, batch)
            }
            if n < 0 {
                if -n == EOPNOTSUPP || -n == ENOTTY {
                    throw .badInput("the filesystem holding \(path) does not report extents (FIEMAP: \(Errno(-n))); path classes need ext4, xfs or btrfs")
                }
                throw .runFailed("FIEMAP on \(path) failed: \(Errno(-n))")
            }
            if n == 0 { break }
            var sawLast = false
            for i in 0 ..< Int(n) {
                let e = raw[i]
                extents.append(Extent(logical: e.fe_logical, physical: e.fe_physical, length: e.fe_length, flags: e.fe_flags))
                if e.fe_flags & Extent.last != 0 { sawLast = true }
            }
            if sawLast { break }
            start = extents.last!.end
        }
        return ExtentMap(extents: extents, fileSize: size)
    }

    /// The extent holding byte `offset`, if any (binary search; extents are sorted).
    public func extent(containing offset: UInt64) -> Extent? {
        var lo = 0, hi = extents.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if extents[mid].end <= offset { lo = mid + 1 } else { hi = mid }
        }
        guard lo < extents.count, extents[lo].logical <= offset else { return nil }
        return extents[lo]
    }

    /// Records whose successor starts where they end logically but not physically:
    /// the places where a read must be split into two mappings.
    public var discontinuities: Int {
        guard extents.count > 1 else { return 0 }
        var n = 0
        for i in 1 ..< extents.count where extents[i].logical == extents[i - 1].end && extents[i].physical != extents[i - 1].physicalEnd {
            n += 1
        }
        return n
    }

    public var writtenExtents: Int { extents.filter(\.isPlainWritten).count }
    public var unwrittenExtents: Int { extents.filter(\.isUnwritten).count }
}
