package dev.gemma4j.model;

import java.nio.file.Path;

/**
 * A GGUF file that parses but does not describe a Gemma 4 model this runtime can run: a missing or
 * inconsistent hyperparameter, a missing tensor, a tensor of the wrong shape. The message names the file
 * and the key or tensor.
 */
public final class ModelFormatException extends IllegalArgumentException {
    public ModelFormatException(Path file, String message) {
        super(file + ": " + message);
    }
}
