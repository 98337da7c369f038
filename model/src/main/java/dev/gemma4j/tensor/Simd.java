package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector shapes used by the dot kernels: 16 float lanes (512 bits) fed from 16 weight bytes (128 bits).
 * The kernels are written for 16 lanes; on machines whose preferred float vector is narrower the
 * formats fall back to their scalar loops (the Vector API would emulate 512-bit vectors slowly).
 */
final class Simd {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    static final VectorSpecies<Short> S = ShortVector.SPECIES_256;
    static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    static final int LANES = 16;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** True where 512-bit vectors are native; the vector kernels are used only then. */
    static final boolean ENABLED = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512;

    /** 0..15, the lane index, for bit extraction. */
    static final IntVector IOTA = IntVector.fromArray(I, new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 0);
    static final ByteVector IQ4_TABLE = ByteVector.fromArray(B, Bits.IQ4_VALUES, 0);
    static final ByteVector MXFP4_TABLE = ByteVector.fromArray(B, Bits.MXFP4_VALUES, 0);

    private Simd() {
    }

    static ByteVector bytes(MemorySegment s, long off) {
        return ByteVector.fromMemorySegment(B, s, off, LE);
    }

    /** Signed bytes to 16 floats. */
    static FloatVector toFloat(ByteVector b) {
        return (FloatVector) b.convertShape(VectorOperators.B2F, F, 0);
    }

    static FloatVector x(float[] x, int i) {
        return FloatVector.fromArray(F, x, i);
    }

    /** Low nibbles of 16 bytes. */
    static ByteVector lo(ByteVector b) {
        return b.and((byte) 0x0F);
    }

    /** High nibbles of 16 bytes. */
    static ByteVector hi(ByteVector b) {
        return b.lanewise(VectorOperators.LSHR, 4);
    }

    /** Table lookup of 16 4-bit indices in a 16-entry byte table. */
    static ByteVector lookup(ByteVector table, ByteVector nibbles) {
        return nibbles.selectFrom(table);
    }

    /** Bits {@code shift..shift+15} of {@code word} as 16 int lanes, each 0 or 1. */
    static IntVector bitLanes(int word, int shift) {
        return IntVector.broadcast(I, word >>> shift).lanewise(VectorOperators.LSHR, IOTA).and(1);
    }

    /** A scalar in every lane. */
    static FloatVector f(float v) {
        return FloatVector.broadcast(F, v);
    }

    static float sum(FloatVector v) {
        return v.reduceLanes(VectorOperators.ADD);
    }
}
