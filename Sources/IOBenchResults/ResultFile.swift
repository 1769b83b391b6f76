import Foundation
import Glibc
import IOBenchPlatform
import IOBenchWorkload
import IOBenchHistogram

/// Reading the files `compare`, `merge` and `report` take: one path, one set of errors.
public enum InputFile {
    /// The whole file: a regular file, or a pipe (`<(iobench run ...)`). A directory, a
    /// block device or an unreadable path is bad input with the reason.
    public static func read(_ path: String, usage: String) throws(IOBenchError) -> Data {
        // O_NONBLOCK: opening a FIFO does not wait for a writer; a FIFO nobody writes then
        // reads as empty (an error below) instead of hanging. Reads themselves block.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        guard fd >= 0 else {
            throw .badInput("cannot read \(path): \(Errno.current); \(usage)")
        }
        defer { close(fd) }
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .badInput("cannot read \(path): \(Errno.current); \(usage)") }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: throw .badInput("\(path) is a directory, not a file; \(usage)")
        case S_IFBLK: throw .badInput("\(path) is a block device, not a file; \(usage)")
        default: break
        }
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw .badInput("cannot read \(path): \(Errno.current); \(usage)")
            }
            if n == 0 { break }
            data.append(contentsOf: chunk[..<n])
            guard data.count <= 1 << 30 else { throw .badInput("\(path) is larger than 1 GiB; it is not an iobench result; \(usage)") }
        }
        guard !data.isEmpty else { throw .badInput("\(path) is empty; \(usage)") }
        return data
    }
}

public enum ResultFile {
    static let usage = "pass a result written by 'iobench run --output FILE'"

    /// Reads and checks a result file: one clear error (exit 2) for a missing, empty,
    /// truncated, foreign or wrong-version file, or one with a damaged histogram.
    public static func read(_ path: String) throws(IOBenchError) -> RunResult {
        try RunResult.decode(try InputFile.read(path, usage: usage), source: path)
    }
}

extension RunResult {
    /// Every case's histogram holds as many reads as its latency summary says: a damaged
    /// file is refused (exit 2) by every reader (`compare`, `merge`, `report`), through
    /// `RunResult.decode`, which has already decoded each histogram (a string that does
    /// not decode is refused there, naming the case).
    func validateHistograms(source: String) throws(IOBenchError) {
        for c in cases {
            // The case's histogram and every repeat's (compare --paired and merge read those).
            var parts: [(String, HistogramEncoding, LatencySummary?)] = []
            if let h = c.histogram { parts.append(("", h, c.latency)) }
            for r in c.repeats ?? [] {
                if let h = r.histogram { parts.append((" repeat \(r.index)", h, r.latency)) }
            }
            for (what, h, latency) in parts {
                if let l = latency, l.count != h.live.count {
                    throw .badInput("\(source): case \(c.id)\(what): its histogram holds \(h.live.count) reads but its latency summary says \(l.count); the file is damaged")
                }
            }
        }
    }
}
