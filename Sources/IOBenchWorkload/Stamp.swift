/// The data iobench writes into files it creates: every 8-byte word holds its own byte
/// offset in the file, XORed with a magic constant. Any read of any aligned size can then
/// be checked against the offset it was issued for, and iobench can recognise its own
/// files (a foreign file never matches by chance).
public enum Stamp {
    /// "IOBENCH1" as a little-endian word.
    public static let magic: UInt64 = 0x3148_434E_4542_4F49

    @inlinable @inline(__always)
    public static func word(at byteOffset: UInt64) -> UInt64 { byteOffset ^ magic }

    /// Fills `count` bytes (a multiple of 8) at `buffer` with the stamp for file offset `fileOffset`.
    public static func fill(_ buffer: UnsafeMutableRawPointer, count: Int, fileOffset: UInt64) {
        let words = buffer.bindMemory(to: UInt64.self, capacity: count / 8)
        for i in 0 ..< count / 8 {
            words[i] = (fileOffset &+ UInt64(i &* 8) ^ magic).littleEndian
        }
    }

    /// True when the buffer holds exactly what iobench wrote at `fileOffset`.
    @inlinable @inline(__always)
    public static func matches(_ buffer: UnsafeRawPointer, count: Int, fileOffset: UInt64) -> Bool {
        let words = buffer.assumingMemoryBound(to: UInt64.self)
        var i = 0
        while i < count / 8 {
            if UInt64(littleEndian: words[i]) != (fileOffset &+ UInt64(i &* 8)) ^ magic { return false }
            i &+= 1
        }
        return true
    }

    /// True when every byte is zero (what an unwritten extent reads as).
    @inlinable @inline(__always)
    public static func isZero(_ buffer: UnsafeRawPointer, count: Int) -> Bool {
        let words = buffer.assumingMemoryBound(to: UInt64.self)
        var acc: UInt64 = 0
        var i = 0
        while i < count / 8 { acc |= words[i]; i &+= 1 }
        return acc == 0
    }
}
