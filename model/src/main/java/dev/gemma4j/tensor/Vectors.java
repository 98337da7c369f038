package dev.gemma4j.tensor;

import jdk.incubator.vector.FloatVector;

/**
 * The vector width of the CPU kernels, fixed once per JVM before the first kernel runs (the kernels need
 * it as a constant): the system property {@code gemma4j.vector.bits} (128, 256 or 512; 0 = scalar
 * kernels), else the CPU's preferred float vector width (256 on AVX2, 512 on AVX-512, 128 on NEON),
 * limited to 128..512. A width wider than the hardware's works but is emulated slowly by the JDK; a
 * narrower one (e.g. 256 on AVX-512) runs natively, which is how this machine measures other CPUs' widths.
 */
public final class Vectors {
    /** Property that selects the width: {@code -Dgemma4j.vector.bits=256}. */
    public static final String PROPERTY = "gemma4j.vector.bits";

    /** Bits of a float vector in the kernels; 0 = scalar. */
    public static final int BITS = select(System.getProperty(PROPERTY));

    private Vectors() {
    }

    static int select(String value) {
        int preferred = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        if (value == null || value.isBlank()) {
            return preferred < 128 ? 0 : Math.min(preferred, 512);
        }
        int bits;
        try {
            bits = Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(PROPERTY + " must be 0, 128, 256 or 512, not '" + value + "'");
        }
        if (bits != 0 && bits != 128 && bits != 256 && bits != 512) {
            throw new IllegalArgumentException(PROPERTY + " must be 0, 128, 256 or 512, not " + bits);
        }
        return bits;
    }
}
