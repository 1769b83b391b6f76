import Foundation

public enum ResultFile {
    /// Reads and checks a result file: one clear error (exit 2) for a missing, empty,
    /// truncated, foreign or wrong-version file.
    public static func read(_ path: String) throws(IOBenchError) -> RunResult {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .badInput("cannot read \(path): \(Errno.current); pass a result written by 'iobench run --output FILE'")
        }
        guard !data.isEmpty else { throw .badInput("\(path) is empty; pass a result written by 'iobench run --output FILE'") }
        return try RunResult.decode(data, source: path)
    }
}
