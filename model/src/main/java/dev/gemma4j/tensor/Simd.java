package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Kernel style: C2 stops inlining when a method's parse-time node count passes a cutoff, and every Vector
 * API call expands into many nodes; a vector helper left out-of-line boxes its vectors and is then far
 * slower than scalar code. The kernels therefore keep one copy of each vector operation in a compact
 * loop body over 16- or 32-element groups (loop parameters select nibbles, bits and scales) and let C2
 * unroll after parsing, and read block headers with one or two wide scalar loads.
 *
 * <p>Widths. {@link #V} is the float species of the width-generic kernels (F32, Q8_0, Q5_0, Q4_K,
 * Q6_K): 128, 256 or 512 bits, from the system property {@code gemma4j.vector.bits} (read once, before
 * the first kernel runs; {@code 0} = scalar kernels) or else the CPU's preferred width. Their weight
 * bytes are loaded as {@link #VB}, a byte species of {@code max(8, lanes)} lanes, and converted to floats
 * with {@code convertShape(B2F, V, part)} for {@link #VP} parts (1 at 256/512 bits, 2 at 128). The other
 * formats (MXFP4, IQ4_NL, IQ4_XS, Q4_1, Q5_1, Q2_K, Q3_K) keep kernels written for 512-bit vectors
 * ({@link #F}, {@link #B}, {@link #B2}), used where the selected width is 512 ({@link #ENABLED}), and have
 * a {@code dotGeneric} for 128 and 256 bits (Q5_K's serves 512 too: see its {@code dot}): weight bytes {@link #VL} at a time widened to ints (at 128
 * bits read as one int and widened from its own vector), or, for the table formats, 16 code bytes looked
 * up by one byte shuffle in a 16-byte table ({@link #MXFP4_TABLE}, {@link #IQ4_TABLE}) and widened VL at a
 * time from the bottom of the vector ({@link #NEXT_VL}).
 *
 * <p>Profiles: C2 inlines the Vector API's intrinsics late, so while parsing a kernel it does not know the
 * exact class of a vector and resolves each call by the call site's type profile. A helper here, or a
 * final convenience method of the JDK such as {@code ByteVector.and(byte)}, is one call site for every
 * kernel that uses it; once kernels with 128- and 256-bit byte vectors have both run (the engine runs
 * Q5_0/Q8_0 and Q4_K/Q6_K side by side), such sites are bimorphic, C2 inlines both shapes, runs out of
 * its inlining node budget, and leaves vector operations out of line (boxed: 4-5x slower). The hot
 * kernels therefore write their byte operations out in their own body, as
 * {@code lanewise(op, constantVector)} and {@code convertShape} calls that each kernel's own bytecode
 * profiles. See docs/benchmarks.md, "Decode speed".
 *
 * <p>Reductions: {@link #sum} adds the lanes in a fixed tree order with explicit shuffles, never
 * {@code reduceLanes(ADD)}, whose order the Vector API leaves open (the interpreter adds lane by lane,
 * C2 in a tree), so a result does not depend on whether the kernel has been compiled yet.
 */
final class Simd {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    static final VectorSpecies<Short> S = ShortVector.SPECIES_256;
    static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    static final VectorSpecies<Byte> B2 = ByteVector.SPECIES_256;
    static final int LANES = 16;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** Bits of the width-generic kernels' float vectors; 0 when they use their scalar loops. */
    static final int BITS = Vectors.BITS;
    /** True when the width-generic kernels run vectorised. */
    static final boolean VECTOR = BITS >= 128;
    /** Float species of the width-generic kernels (a 128-bit one when {@link #VECTOR} is false, unused). */
    static final VectorSpecies<Float> V = FloatVector.SPECIES_PREFERRED.vectorBitSize() == Math.max(BITS, 128)
            ? FloatVector.SPECIES_PREFERRED : VectorSpecies.of(float.class, VectorShape.forBitSize(Math.max(BITS, 128)));
    /** Float lanes of {@link #V}. */
    static final int VL = V.length();
    /** Int species of {@link #V}'s shape. */
    static final VectorSpecies<Integer> VI = VectorSpecies.of(int.class, V.vectorShape());
    /** Short species with {@link #VL} lanes (f16/bf16 loads). */
    static final VectorSpecies<Short> VS = VectorSpecies.of(short.class, VectorShape.forBitSize(16 * VL));
    /** Byte species the generic kernels load weight bytes with: max(8, VL) lanes. */
    static final VectorSpecies<Byte> VB = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, 8 * VL)));
    /** Bytes per {@link #VB} load. */
    static final int VBL = VB.length();
    /** Float vectors per {@link #VB} load (1, or 2 at 128 bits). */
    static final int VP = VBL / VL;

    /** True where the 512-bit kernels of the other formats are used (selected width 512). */
    static final boolean ENABLED = BITS >= 512;

    // Shuffles of the fixed-order lane sum: lane i with lane i ^ h.
    static final VectorShuffle<Float> SWAP8 = swap(8);
    static final VectorShuffle<Float> SWAP4 = swap(4);
    static final VectorShuffle<Float> SWAP2 = swap(2);
    static final VectorShuffle<Float> SWAP1 = swap(1);

    private static VectorShuffle<Float> swap(int h) {
        int[] idx = new int[VL];
        for (int i = 0; i < VL; i++) {
            idx[i] = (i ^ h) % VL;
        }
        return VectorShuffle.fromArray(V, idx, 0);
    }

    static final ByteVector IQ4_TABLE = ByteVector.fromArray(B, Bits.IQ4_VALUES, 0);
    static final ByteVector MXFP4_TABLE = ByteVector.fromArray(B, Bits.MXFP4_VALUES, 0);
    /** Lane i takes lane i + {@link #VL} (mod 16) of a 16-byte vector: the next VL bytes to the bottom. */
    static final VectorShuffle<Byte> NEXT_VL = VectorShuffle.fromOp(B, i -> (i + VL) & 15);

    private Simd() {
    }

    static ByteVector bytes(MemorySegment s, long off) {
        return ByteVector.fromMemorySegment(B, s, off, LE);
    }

    /** 32 bytes (for 32-element groups: converted to floats in two parts). */
    static ByteVector bytes32(MemorySegment s, long off) {
        return ByteVector.fromMemorySegment(B2, s, off, LE);
    }

    /** Signed bytes {@code 16·part .. 16·part+15} of a 32-byte vector to 16 floats. */
    static FloatVector toFloat(ByteVector b, int part) {
        return (FloatVector) b.convertShape(VectorOperators.B2F, F, part);
    }

    /** Signed bytes to 16 floats. */
    static FloatVector toFloat(ByteVector b) {
        return (FloatVector) b.convertShape(VectorOperators.B2F, F, 0);
    }

    static FloatVector x(float[] x, int i) {
        return FloatVector.fromArray(F, x, i);
    }

    /** Low nibbles. */
    static ByteVector lo(ByteVector b) {
        return b.and((byte) 0x0F);
    }

    /**
     * Shifts right by {@code n} in 32-bit lanes. x86 has no byte shifts, so callers shift in
     * wider lanes and mask away the bits that crossed from the neighbouring byte.
     */
    static ByteVector shr(ByteVector b, int n) {
        return b.reinterpretAsInts().lanewise(VectorOperators.LSHR, n).reinterpretAsBytes();
    }

    /** Shifts left by {@code n} in 32-bit lanes (mask the result per byte). */
    static ByteVector shl(ByteVector b, int n) {
        return b.reinterpretAsInts().lanewise(VectorOperators.LSHL, n).reinterpretAsBytes();
    }

    /** High nibbles. */
    static ByteVector hi(ByteVector b) {
        return shr(b, 4).and((byte) 0x0F);
    }

    /** Bit {@code bit} of every byte moved to bit {@code target} (all other bits cleared). */
    static ByteVector bitTo(ByteVector b, int bit, int target) {
        return shl(shr(b, bit), target).and((byte) (1 << target));
    }

    /** Adds {@code value} to the bytes of {@code v} whose byte in {@code flags} has bit {@code bit} set. */
    static ByteVector addWhereBit(ByteVector v, ByteVector flags, int bit, int value) {
        return v.lanewise(VectorOperators.ADD, (byte) value, flags.and((byte) (1 << bit)).compare(VectorOperators.NE, 0));
    }

    /** Rotates each 32-bit lane right by {@code n} (mod 32): moves bits within every byte without losing any. */
    static ByteVector rotr(ByteVector b, int n) {
        return b.reinterpretAsInts().lanewise(VectorOperators.ROR, n).reinterpretAsBytes();
    }

    /** Bits {@code from..from+width-1} of every byte, moved to the bottom. */
    static ByteVector bits(ByteVector b, int from, int width) {
        return shr(b, from).and((byte) ((1 << width) - 1));
    }

    /** Table lookup of 16 4-bit indices in a 16-entry byte table. */
    static ByteVector lookup(ByteVector table, ByteVector nibbles) {
        return nibbles.selectFrom(table);
    }

    /** A mask over 16 byte lanes: lane i is set when bit i of {@code bits} is. */
    static VectorMask<Byte> laneBits(int bits) {
        return VectorMask.fromLong(B, bits & 0xFFFF);
    }

    /** A scalar in every lane. */
    static FloatVector f(float v) {
        return FloatVector.broadcast(F, v);
    }

    /**
     * {@code count} lane shuffles of {@link #V} for the 512-bit prepared kernels: lane i of shuffle k takes lane
     * {@code from.applyAsInt(k, i)}. Below 512 bits the entries stay null (those kernels do not run there).
     */
    @SuppressWarnings("unchecked")
    static VectorShuffle<Float>[] shuffles512(int count, java.util.function.IntBinaryOperator from) {
        VectorShuffle<Float>[] s = new VectorShuffle[count];
        if (VL == 16) {
            for (int k = 0; k < count; k++) {
                int[] lanes = new int[16];
                for (int i = 0; i < 16; i++) {
                    lanes[i] = from.applyAsInt(k, i);
                }
                s[k] = VectorShuffle.fromArray(V, lanes, 0);
            }
        }
        return s;
    }

    /**
     * Sum of the lanes of a {@link #V} vector in a fixed order (pairwise: lane i + lane i^h for h = VL/2 ..
     * 1), the same in the interpreter and in compiled code.
     *
     * <p>All steps in this one body, no nested calls: sum is shared by every kernel, and C2 refuses to inline
     * a non-trivial callee (over 6 bytes) at a call site whose profiled count is low against the caller's
     * invocation count ("low call site frequency"). A shared method's call-site profile can start late (its
     * early invocations counted, its call sites not yet), so the former one-step-per-method chain (sum, sum4,
     * sum2) was now and then left out of line inside a compiled kernel, which then boxed its vector
     * (KernelAllocationTest failing for the first kernels of a run, at 128 and 256 bits). A kernel's own
     * call to sum is once per call, i.e. frequent, so C2 inlines this larger body.
     */
    static float sum(FloatVector v) {
        FloatVector s = v;
        if (VL >= 16) {
            s = s.add(s.rearrange(SWAP8));
        }
        if (VL >= 8) {
            s = s.add(s.rearrange(SWAP4));
        }
        s = s.add(s.rearrange(SWAP2));
        return s.add(s.rearrange(SWAP1)).lane(0);
    }

    /**
     * {@link #sum}'s value for a vector stored at {@code a[off .. off+VL)}, in scalar code: the same additions in
     * the same order (lane i with lane i + h, h = VL/2 .. 1), overwriting the stored lanes. For kernels whose
     * several final sums would pass C2's inlining budget as calls of {@link #sum} (a call with a vector
     * argument boxes it); a call of this one costs nothing if it is left out of line.
     */
    static float sumStored(float[] a, int off) {
        for (int h = VL / 2; h >= 1; h /= 2) {
            for (int i = 0; i < h; i++) {
                a[off + i] = a[off + i] + a[off + i + h];
            }
        }
        return a[off];
    }

    /**
     * The end of a {@code dotTile} kernel: its accumulators, stored one per {@code VL} floats of {@code scratch}, summed
     * by {@link #sumStored} into {@code y[yOffset + b·yStride]} for each of the {@code rows} activation rows.
     */
    static void tileSums(float[] scratch, int rows, float[] y, int yOffset, int yStride) {
        for (int b = 0; b < rows; b++) {
            y[yOffset + b * yStride] = sumStored(scratch, b * VL);
        }
    }
}
