import Foundation
import IOBenchResults
import IOBenchWorkload
import IOBenchPlatform

/// What `iobench inspect` tells about a file: where it lives, how it is laid out, and
/// which path classes it can serve at which block sizes.
public struct InspectReport: Codable, Sendable {
    /// Every iobench JSON document names itself (docs/json-schema.md).
    public var schema: String? = "iobench/inspect"
    public var schemaVersion: Int? = 1
    public struct ClassAvailability: Codable, Sendable {
        public var pathClass: PathClass
        public var blockSize: Int
        /// Distinct read positions that meet the class; nil when it cannot be served.
        public var positions: Int?
        public var reason: String?
        enum CodingKeys: String, CodingKey {
            case positions, reason
            case pathClass = "class"
            case blockSize = "bs"
        }
    }

    public var target: TargetInfo
    public var filesystemBlockSize: Int
    public var fileSize: UInt64
    public var extentCount: Int
    public var writtenExtents: Int
    public var unwrittenExtents: Int
    /// Logically adjacent records whose physical location jumps: extent boundaries a
    /// read can cross.
    public var extentBoundaries: Int
    public var minExtentBytes: UInt64
    public var medianExtentBytes: UInt64
    public var maxExtentBytes: UInt64
    /// Extent lengths by power of two: key is the lower bound in bytes.
    public var extentSizeDistribution: [String: Int]
    public var flagsSeen: [String]
    public var classes: [ClassAvailability]

    enum CodingKeys: String, CodingKey {
        case target, classes, schema
        case schemaVersion = "schema_version"
        case filesystemBlockSize = "filesystem_block_size"
        case fileSize = "file_size"
        case extentCount = "extent_count"
        case writtenExtents = "written_extents"
        case unwrittenExtents = "unwritten_extents"
        case extentBoundaries = "extent_boundaries"
        case minExtentBytes = "min_extent_bytes"
        case medianExtentBytes = "median_extent_bytes"
        case maxExtentBytes = "max_extent_bytes"
        case extentSizeDistribution = "extent_size_distribution"
        case flagsSeen = "flags_seen"
    }

    public static func make(target: Target, blockSizes: [Int]) throws(IOBenchError) -> InspectReport {
        guard target.kind == .file else {
            throw .badInput("inspect reads a file's extent map; \(target.path) is a block device")
        }
        let map = try ExtentMap.read(fd: target.fd, path: target.path)
        let fsBlock = ClassPlanner.filesystemBlockSize(fd: target.fd)
        let lengths = map.extents.map(\.length).sorted()
        var dist: [String: Int] = [:]
        for l in lengths {
            let p = UInt64(1) << UInt64(63 - l.leadingZeroBitCount)
            dist[Units.formatSize(p), default: 0] += 1
        }
        var flags = Set<String>()
        for e in map.extents { flags.formUnion(e.flagNames) }
        var classes: [ClassAvailability] = []
        for bs in blockSizes {
            for c in PathClass.allCases {
                var a = ClassAvailability(pathClass: c, blockSize: bs)
                do {
                    if c == .raw {
                        let plan = try ClassPlanner.plan(.raw, bs: bs, target: target, map: map)
                        a.positions = plan.summary.positions
                    } else {
                        a.positions = try ClassPlanner.candidates(c, bs: bs, fsBlock: fsBlock, map: map).count
                    }
                } catch {
                    a.reason = error.description
                }
                classes.append(a)
            }
        }
        return InspectReport(target: TargetInfo(target), filesystemBlockSize: fsBlock, fileSize: map.fileSize,
                             extentCount: map.extents.count, writtenExtents: map.writtenExtents,
                             unwrittenExtents: map.unwrittenExtents, extentBoundaries: map.discontinuities,
                             minExtentBytes: lengths.first ?? 0, medianExtentBytes: lengths.isEmpty ? 0 : lengths[lengths.count / 2],
                             maxExtentBytes: lengths.last ?? 0, extentSizeDistribution: dist,
                             flagsSeen: flags.sorted(), classes: classes)
    }

    public func renderText() -> String {
        var out = "\(target.path)\n"
        out += "  filesystem   \(target.filesystem ?? "none") at \(target.mountPoint ?? "?"), block size \(filesystemBlockSize)\n"
        if let q = target.queue {
            out += "  device       \(q.partition.map { "\($0) on " } ?? "")\(q.device): scheduler \(q.scheduler ?? "?"), io_poll \(q.ioPoll.map { $0 ? "1" : "0" } ?? "?"), nr_requests \(q.nrRequests.map(String.init) ?? "?"), logical block \(q.logicalBlockSize.map(String.init) ?? "?")\n"
        } else {
            out += "  device       none (not on a block device)\n"
        }
        out += "  size         \(fileSize) bytes (\(Units.formatSize(fileSize & ~1023)))\n"
        out += "  extents      \(extentCount) records: \(writtenExtents) written, \(unwrittenExtents) unwritten; \(extentBoundaries) boundaries a read can cross\n"
        out += "  extent size  min \(Units.formatSize(minExtentBytes)), median \(Units.formatSize(medianExtentBytes)), max \(Units.formatSize(maxExtentBytes))\n"
        let dist = extentSizeDistribution.sorted { (try? Units.parseSize($0.key, option: "")) ?? 0 < (try? Units.parseSize($1.key, option: "")) ?? 0 }
        out += "  by size      " + dist.map { "≥\($0.key): \($0.value)" }.joined(separator: ", ") + "\n"
        if !flagsSeen.isEmpty { out += "  flags        \(flagsSeen.joined(separator: ", "))\n" }
        out += "\nclasses this file can serve\n"
        for c in classes {
            let what = c.positions.map { "yes, \($0) positions" } ?? "no: \(c.reason ?? "")"
            out += "  \(Fmt.pad(c.pathClass.rawValue, 13, right: false)) bs \(Fmt.pad(Units.formatSize(UInt64(c.blockSize)), 4, right: false))  \(what)\n"
        }
        return out
    }
}
