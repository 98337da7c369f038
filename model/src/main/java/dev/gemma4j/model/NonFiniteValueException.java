package dev.gemma4j.model;

/**
 * A weight product produced NaN or infinity: the tensor's data is corrupt or badly quantized (a sound
 * model never overflows f32 there). Raised instead of letting NaN flow on into the router (where it used
 * to pick an expert id of -1) or into sampling. A bad-input error: the file, not the program, is at fault.
 */
public final class NonFiniteValueException extends IllegalArgumentException {
    private final String tensor;

    public NonFiniteValueException(String tensor) {
        super("tensor " + tensor + " produced non-finite values (NaN or infinity): the model file is corrupt or badly quantized");
        this.tensor = tensor;
    }

    /** A tensor whose stored data holds a non-finite value (found by scanning it before use, e.g. before a device upload). */
    public static NonFiniteValueException stored(String tensor, long byteOffset) {
        return new NonFiniteValueException(tensor, "tensor " + tensor + " holds a non-finite value (NaN or infinity) at byte " + byteOffset
            + " of its data: the model file is corrupt or badly quantized");
    }

    private NonFiniteValueException(String tensor, String message) {
        super(message);
        this.tensor = tensor;
    }

    /** Name of the tensor whose product was not finite (e.g. {@code blk.3.ffn_gate_inp.weight}). */
    public String tensor() {
        return tensor;
    }
}
