// Prints the V2 string that HdrHistogram's Java implementation (the reference, which
// writes a lone empty bucket as a plain 0) encodes for the values of
// scripts/make_hdrh_reference.py; Tests/IOBenchKitTests/ReferenceHistogramTests.swift
// keeps the output as its Java fixture. Java's HdrHistogram is not in Debian or PyPI:
// compile its sources (github.com/HdrHistogram/HdrHistogram, src/main/java, with
// Version.java made from Version.java.template) into CLASSES, then
//     javac -cp CLASSES -d /tmp scripts/MakeHdrJavaReference.java
//     java -cp CLASSES:/tmp MakeHdrJavaReference
import java.nio.ByteBuffer;
import java.util.Base64;
import org.HdrHistogram.Histogram;

public class MakeHdrJavaReference {
    public static void main(String[] args) {
        long[][] recorded = {
            {1, 3}, {3, 1}, {4, 2}, {6, 1}, {1_000, 10}, {2_047, 1}, {2_048, 1}, {2_052, 4},
            {100_000, 5}, {1_000_000, 100}, {1_001_000, 2}, {12_345_678, 7}, {12_345_678_901L, 1},
        };
        Histogram h = new Histogram(1, 60_000_000_000L, 3);
        for (long[] r : recorded) h.recordValueWithCount(r[0], r[1]);
        ByteBuffer buffer = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
        int n = h.encodeIntoCompressedByteBuffer(buffer);
        byte[] out = new byte[n];
        buffer.rewind();
        buffer.get(out);
        System.out.println(Base64.getEncoder().encodeToString(out));
    }
}
