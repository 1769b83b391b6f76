/// xoshiro256** (Blackman and Vigna): fast, 256 bits of state, passes BigCrush.
/// Seeded through splitmix64 so that nearby seeds give unrelated streams.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    @usableFromInline var s0, s1, s2, s3: UInt64

    public init(seed: UInt64) {
        var x = seed
        func splitmix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(&x); s1 = splitmix(&x); s2 = splitmix(&x); s3 = splitmix(&x)
    }

    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// A uniform integer in 0..<bound without modulo bias (Lemire's multiply-and-reject).
    @inlinable @inline(__always)
    public mutating func uniform(below bound: UInt64) -> UInt64 {
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return m.high
    }
}

public enum AccessPattern: String, Codable, Sendable, CaseIterable {
    case random = "randread"
    case sequential = "read"
}

/// The byte offsets one job reads: `blockCount` aligned blocks of `blockSize` starting at
/// `regionStart`, or the positions of a planned table (a path class), picked uniformly
/// at random or in order (wrapping at the end).
///
/// `@unchecked Sendable` because of the raw pointers into the table: they stay valid as
/// long as the generator exists (it holds the table, `owner`), and what they point to is
/// never written after the table's init, so any number of jobs may read it at once. Each
/// job's generator is its own copy (a value), so the mutable state is never shared.
public struct OffsetGenerator: @unchecked Sendable {
    public let regionStart: UInt64
    public let blockSize: UInt64
    public let blockCount: UInt64
    public let pattern: AccessPattern
    @usableFromInline var rng: Xoshiro256StarStar
    @usableFromInline var cursor: UInt64 = 0
    /// Raw pointers for the hot path (no reference counting per read) into `owner`'s
    /// buffers, which `owner` keeps allocated: the table is freed only with its last
    /// holder, and every generator made from it is one.
    @usableFromInline let table: UnsafePointer<UInt64>?
    @usableFromInline let fileTable: UnsafePointer<UInt64>?
    let owner: OffsetTable?
    /// The file offset whose data the last offset returns (differs for raw reads).
    @usableFromInline var _lastFileOffset: UInt64 = 0
    public var lastFileOffset: UInt64 { _lastFileOffset }

    /// Positions from a planned table, shared read-only between jobs.
    public init(table: OffsetTable, pattern: AccessPattern, seed: UInt64, startIndex: UInt64 = 0) {
        precondition(table.count > 0)
        regionStart = 0
        blockSize = 0
        blockCount = UInt64(table.count)
        self.pattern = pattern
        rng = Xoshiro256StarStar(seed: seed)
        cursor = startIndex % blockCount
        self.table = UnsafePointer(table.ioOffsets.baseAddress!)
        self.fileTable = table.fileOffsets.map { UnsafePointer($0.baseAddress!) }
        owner = table
    }

    public init(regionStart: UInt64, blockSize: UInt64, blockCount: UInt64, pattern: AccessPattern, seed: UInt64, startBlock: UInt64 = 0) {
        precondition(blockCount > 0 && blockSize > 0)
        self.regionStart = regionStart
        self.blockSize = blockSize
        self.blockCount = blockCount
        self.pattern = pattern
        self.rng = Xoshiro256StarStar(seed: seed)
        self.cursor = startBlock % blockCount
        self.table = nil
        self.fileTable = nil
        owner = nil
    }

    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        if let table {
            let i: Int
            switch pattern {
            case .random:
                i = Int(truncatingIfNeeded: rng.uniform(below: blockCount))
            case .sequential:
                i = Int(truncatingIfNeeded: cursor)
                cursor &+= 1
                if cursor == blockCount { cursor = 0 }
            }
            _lastFileOffset = fileTable?[i] ?? table[i]
            return table[i]
        }
        let o = arithmeticNext()
        _lastFileOffset = o
        return o
    }

    @inlinable @inline(__always)
    mutating func arithmeticNext() -> UInt64 {
        switch pattern {
        case .random:
            return regionStart &+ rng.uniform(below: blockCount) &* blockSize
        case .sequential:
            let b = cursor
            cursor &+= 1
            if cursor == blockCount { cursor = 0 }
            return regionStart &+ b &* blockSize
        }
    }
}
