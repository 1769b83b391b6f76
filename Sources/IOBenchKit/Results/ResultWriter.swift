import Foundation
import Glibc

public enum ResultWriter {
    /// Writes the JSON result atomically: a temporary file in the same directory, then
    /// rename, so a reader never sees a half-written file.
    public static func writeJSON(_ result: RunResult, to path: String) throws(IOBenchError) {
        let data: Data
        do { data = try result.jsonData() } catch { throw .runFailed("cannot encode the result: \(error)") }
        try writeAtomically(data + "\n".data(using: .utf8)!, to: path)
    }

    public static func writeAtomically(_ data: Data, to path: String) throws(IOBenchError) {
        let tmp = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: tmp, contents: data) else {
            throw .badInput("cannot write \(path): \(Errno.current); check that its directory exists and is writable")
        }
        if rename(tmp, path) != 0 {
            let e = Errno.current
            unlink(tmp)
            throw .badInput("cannot write \(path): \(e)")
        }
    }
}
