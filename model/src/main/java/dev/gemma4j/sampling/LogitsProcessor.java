package dev.gemma4j.sampling;

/**
 * Adjusts logits before each sampling step and follows the chosen tokens, e.g. a grammar constraint that sets
 * the logits of disallowed tokens to negative infinity (dev.gemma4j.structured.JsonConstraint).
 */
public interface LogitsProcessor {
    /** Modifies the logits of the next step in place, before the sampler sees them. */
    void process(float[] logits);

    /** Called with each generated token (end-of-generation tokens excluded) once it is chosen. */
    void accept(int token);

    /**
     * Whether the output is finished and only an end token could follow (e.g. a JSON value is closed):
     * the generation loop then stops as if the end token had been sampled, saving that decoding step.
     */
    default boolean forcesEnd() {
        return false;
    }
}
