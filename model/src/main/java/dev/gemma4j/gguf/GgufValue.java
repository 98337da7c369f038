package dev.gemma4j.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * One GGUF metadata value with its stored type. Scalars are held as {@link Long} (every integer width),
 * {@link Double} (FLOAT32 / FLOAT64), {@link Boolean} or {@link String}. Arrays are held as {@code long[]},
 * {@code double[]}, {@code boolean[]}, {@code String[]} or, for arrays of arrays, {@code GgufValue[]};
 * {@link #elementType()} tells the stored element type.
 */
public final class GgufValue {
    private final GgufValueType type;
    private final GgufValueType elementType;
    /** The held object; a {@link LazyStrings} is replaced by its String[] on first full access. */
    private volatile Object value;
    /** For string arrays read from a file: their stored bytes. */
    private final LazyStrings stored;

    private GgufValue(GgufValueType type, GgufValueType elementType, Object value) {
        this.type = Objects.requireNonNull(type);
        this.elementType = elementType;
        this.value = Objects.requireNonNull(value);
        this.stored = value instanceof LazyStrings l ? l : null;
    }

    // ---- factories ----

    /**
     * An integer of the given width. The value must fit the type; UINT64 takes any long (its bits are the
     * unsigned value, so values of 2^63 and above read back negative).
     */
    public static GgufValue ofInteger(GgufValueType type, long v) {
        checkRange(type, v);
        return new GgufValue(type, null, v);
    }

    private static void checkRange(GgufValueType type, long v) {
        boolean ok = switch (type) {
            case UINT8 -> v >= 0 && v <= 0xFF;
            case INT8 -> v >= Byte.MIN_VALUE && v <= Byte.MAX_VALUE;
            case UINT16 -> v >= 0 && v <= 0xFFFF;
            case INT16 -> v >= Short.MIN_VALUE && v <= Short.MAX_VALUE;
            case UINT32 -> v >= 0 && v <= 0xFFFF_FFFFL;
            case INT32 -> v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE;
            case UINT64, INT64 -> true;
            default -> throw new IllegalArgumentException("not an integer type: " + type);
        };
        if (!ok) {
            throw new IllegalArgumentException(v + " does not fit " + type);
        }
    }

    public static GgufValue ofInt64(long v) {
        return ofInteger(GgufValueType.INT64, v);
    }

    public static GgufValue ofUint32(long v) {
        return ofInteger(GgufValueType.UINT32, v);
    }

    public static GgufValue ofInt32(int v) {
        return ofInteger(GgufValueType.INT32, v);
    }

    public static GgufValue ofUint64(long v) {
        return ofInteger(GgufValueType.UINT64, v);
    }

    public static GgufValue ofFloat32(float v) {
        return new GgufValue(GgufValueType.FLOAT32, null, (double) v);
    }

    public static GgufValue ofFloat64(double v) {
        return new GgufValue(GgufValueType.FLOAT64, null, v);
    }

    public static GgufValue ofBool(boolean v) {
        return new GgufValue(GgufValueType.BOOL, null, v);
    }

    public static GgufValue ofString(String v) {
        return new GgufValue(GgufValueType.STRING, null, v);
    }

    /** An integer array; every element must fit {@code elementType} (see {@link #ofInteger}). */
    public static GgufValue ofIntegerArray(GgufValueType elementType, long[] v) {
        checkRange(elementType, 0);
        if (elementType != GgufValueType.UINT64 && elementType != GgufValueType.INT64) {
            for (long x : v) {
                checkRange(elementType, x);
            }
        }
        return new GgufValue(GgufValueType.ARRAY, elementType, v);
    }

    public static GgufValue ofInt32Array(int... v) {
        long[] l = new long[v.length];
        for (int i = 0; i < v.length; i++) {
            l[i] = v[i];
        }
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.INT32, l);
    }

    public static GgufValue ofFloat32Array(float... v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.FLOAT32, d);
    }

    public static GgufValue ofFloatArray(GgufValueType elementType, double[] v) {
        if (elementType != GgufValueType.FLOAT32 && elementType != GgufValueType.FLOAT64) {
            throw new IllegalArgumentException("not a float type: " + elementType);
        }
        return new GgufValue(GgufValueType.ARRAY, elementType, v);
    }

    public static GgufValue ofBoolArray(boolean... v) {
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.BOOL, v);
    }

    public static GgufValue ofStringArray(String... v) {
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.STRING, v);
    }

    /** A string array read from a file, decoded from its UTF-8 bytes only when asked for. */
    static GgufValue ofLazyStrings(LazyStrings v) {
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.STRING, v);
    }

    /**
     * The raw bytes of a string array as stored in a file: {@code bytes} holds each element's u64 length
     * followed by its UTF-8 bytes; {@code starts[i]} is where element i's bytes begin. Reading a 262k-token
     * vocabulary this way costs one copy instead of a String per token until the strings are used.
     */
    record LazyStrings(byte[] bytes, int[] starts) {
        int size() {
            return starts.length;
        }

        int length(int i) {
            int end = i + 1 < starts.length ? starts[i + 1] - 8 : bytes.length;
            return end - starts[i];
        }

        String get(int i) {
            return new String(bytes, starts[i], length(i), java.nio.charset.StandardCharsets.UTF_8);
        }

        String[] decode() {
            String[] a = new String[starts.length];
            for (int i = 0; i < a.length; i++) {
                a[i] = get(i);
            }
            return a;
        }
    }

    /** The held object with lazy string arrays decoded (and the decoded form kept). */
    private Object materialized() {
        Object v = value;
        if (v instanceof LazyStrings l) {
            synchronized (this) {
                v = value;
                if (v instanceof LazyStrings l2) {
                    v = l2.decode();
                    value = v;
                }
            }
        }
        return v;
    }

    /**
     * The stored bytes of a string array read from a file, or null (for the writer, which copies them as
     * they are, so token texts that are not valid UTF-8 survive a copy). Kept after decoding.
     */
    LazyStrings lazyStrings() {
        return stored;
    }

    /**
     * An array of arrays; every element must itself be an array value. GGUF allows this and the gguf-py
     * and node-llama-cpp readers accept it, but llama.cpp's own loader rejects nested arrays.
     */
    public static GgufValue ofArrayArray(GgufValue... v) {
        for (GgufValue e : v) {
            if (e.type != GgufValueType.ARRAY) {
                throw new IllegalArgumentException("nested array element is not an array");
            }
        }
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.ARRAY, v);
    }

    // ---- accessors ----

    public GgufValueType type() {
        return type;
    }

    /** Element type for arrays, {@code null} for scalars. */
    public GgufValueType elementType() {
        return elementType;
    }

    /** The held Java object (see the class comment for the mapping). */
    public Object raw() {
        return materialized();
    }

    public boolean isArray() {
        return type == GgufValueType.ARRAY;
    }

    public boolean isInteger() {
        return value instanceof Long;
    }

    /** Number of elements of an array value. */
    public int length() {
        return switch (value) {
            case long[] a -> a.length;
            case double[] a -> a.length;
            case boolean[] a -> a.length;
            case String[] a -> a.length;
            case LazyStrings a -> a.size();
            case GgufValue[] a -> a.length;
            default -> throw new IllegalStateException("not an array: " + type);
        };
    }

    public long asLong() {
        if (value instanceof Long l) {
            return l;
        }
        throw new IllegalStateException("not an integer: " + type);
    }

    public int asInt() {
        return Math.toIntExact(asLong());
    }

    public double asDouble() {
        if (value instanceof Double d) {
            return d;
        }
        if (value instanceof Long l) {
            return l;
        }
        throw new IllegalStateException("not a number: " + type);
    }

    public float asFloat() {
        return (float) asDouble();
    }

    public boolean asBoolean() {
        if (value instanceof Boolean b) {
            return b;
        }
        throw new IllegalStateException("not a bool: " + type);
    }

    public String asString() {
        if (value instanceof String s) {
            return s;
        }
        throw new IllegalStateException("not a string: " + type);
    }

    public long[] asLongArray() {
        if (value instanceof long[] a) {
            return a;
        }
        throw new IllegalStateException("not an integer array: " + describe());
    }

    public int[] asIntArray() {
        long[] a = asLongArray();
        int[] r = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = Math.toIntExact(a[i]);
        }
        return r;
    }

    public float[] asFloatArray() {
        if (value instanceof double[] a) {
            float[] r = new float[a.length];
            for (int i = 0; i < a.length; i++) {
                r[i] = (float) a[i];
            }
            return r;
        }
        if (value instanceof long[] a) {
            float[] r = new float[a.length];
            for (int i = 0; i < a.length; i++) {
                r[i] = a[i];
            }
            return r;
        }
        throw new IllegalStateException("not a numeric array: " + describe());
    }

    public boolean[] asBooleanArray() {
        if (value instanceof boolean[] a) {
            return a;
        }
        throw new IllegalStateException("not a bool array: " + describe());
    }

    /** Element {@code i} of a string array, without decoding the others. */
    public String stringAt(int i) {
        Object v = value;
        if (v instanceof LazyStrings l) {
            java.util.Objects.checkIndex(i, l.size());
            return l.get(i);
        }
        return asStringArray()[i];
    }

    /** The elements of a string array; the array is shared, do not modify it. */
    public String[] asStringArray() {
        if (materialized() instanceof String[] a) {
            return a;
        }
        throw new IllegalStateException("not a string array: " + describe());
    }

    public GgufValue[] asArrayArray() {
        if (value instanceof GgufValue[] a) {
            return a;
        }
        throw new IllegalStateException("not an array of arrays: " + describe());
    }

    /** Type description such as {@code UINT32} or {@code ARRAY[STRING]}. */
    public String describe() {
        return isArray() ? "ARRAY[" + elementType + "]" : type.name();
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof GgufValue other) || other.type != type || other.elementType != elementType) {
            return false;
        }
        return Objects.deepEquals(materialized(), other.materialized());
    }

    @Override
    public int hashCode() {
        return Objects.hash(type, elementType, Arrays.deepHashCode(new Object[] {materialized()}));
    }

    @Override
    public String toString() {
        return switch (materialized()) {
            case long[] a -> Arrays.toString(a);
            case double[] a -> Arrays.toString(a);
            case boolean[] a -> Arrays.toString(a);
            case String[] a -> Arrays.toString(a);
            case GgufValue[] a -> Arrays.toString(a);
            default -> String.valueOf(value);
        };
    }
}
