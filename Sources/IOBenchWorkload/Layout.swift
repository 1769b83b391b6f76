import CIOBenchShim
import Foundation
import Glibc
import IOBenchPlatform

/// How `iobench prepare` lays a file out on disk, so that one file serves the path
/// classes (docs/method.md, "Path classes"): written extents for `simple` and `single-extent` reads,
/// many small extents for `multi-extent` reads, unwritten extents for `unwritten` reads.
public enum Layout: Sendable, Equatable, CustomStringConvertible {
    /// Stamped data written front to back: as few extents as the filesystem allows.
    case contiguous
    /// Stamped data in extents of `extentBytes`, each physically apart from the next.
    case fragmented(extentBytes: UInt64)
    /// fallocate(2) only: unwritten extents, no data written (reads return zeros).
    case unwritten
    /// The first 3/4 laid out `fragmented`, the last 1/4 unwritten.
    case mixed(extentBytes: UInt64)

    public static let defaultExtentBytes: UInt64 = 64 << 10
    /// Largest extent a fragmented layout asks for (it must fit XFS's 32-bit extent-size hint).
    public static let maxExtentBytes: UInt64 = 1 << 30

    static let acceptedForms = "contiguous, fragmented[:SIZE], unwritten or mixed[:SIZE] (SIZE is the extent length, default 64k; e.g. fragmented:64k, mixed:128k)"

    /// Parses `contiguous`, `fragmented`, `fragmented:64k`, `unwritten`, `mixed`, `mixed:128k`.
    public static func parse(_ text: String) throws(IOBenchError) -> Layout {
        let t = text.trimmingCharacters(in: " ").lowercased()
        let parts = t.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = parts.first.map(String.init) ?? ""
        let argument = parts.count > 1 ? String(parts[1]) : nil
        let unknown = IOBenchError.badInput("--layout '\(text)' is not known; use \(acceptedForms)")
        switch name {
        case "contiguous", "unwritten":
            guard argument == nil else {
                throw .badInput("--layout '\(text)': \(name) takes no extent size; use \(name), or fragmented:SIZE / mixed:SIZE for extents of SIZE")
            }
            return name == "contiguous" ? .contiguous : .unwritten
        case "fragmented", "mixed":
            var extent = defaultExtentBytes
            if let argument {
                guard let v = try? Units.parseSize(argument, option: "layout"), v > 0 else {
                    throw .badInput("--layout '\(text)': '\(argument)' is not an extent size; write e.g. \(name):64k (accepted: \(acceptedForms))")
                }
                extent = v
            }
            guard extent <= maxExtentBytes else {
                throw .badInput("--layout '\(text)': extents of \(Units.formatSize(extent)) are too large to fragment with; use at most \(Units.formatSize(maxExtentBytes)), e.g. \(name):64k")
            }
            return name == "fragmented" ? .fragmented(extentBytes: extent) : .mixed(extentBytes: extent)
        default:
            throw unknown
        }
    }

    /// The canonical text: `contiguous`, `fragmented:64k`, `unwritten`, `mixed:64k`.
    public var description: String {
        switch self {
        case .contiguous: return "contiguous"
        case .unwritten: return "unwritten"
        case .fragmented(let e): return "fragmented:\(Units.formatSize(e))"
        case .mixed(let e): return "mixed:\(Units.formatSize(e))"
        }
    }

    /// The length of each fragmented extent, for the layouts that have them.
    public var extentBytes: UInt64? {
        switch self {
        case .fragmented(let e), .mixed(let e): return e
        case .contiguous, .unwritten: return nil
        }
    }
}
