package dev.gemma4j.sampling;

import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.gguf.GgufValue;
import dev.gemma4j.tokenizer.Gemma4Tokenizer;
import java.util.Arrays;

/**
 * The end-of-generation tokens of a Gemma 4 vocabulary (spec §5.3): {@code <eos>}, {@code <turn|>} and
 * {@code <|tool_response>}, looked up by their text, plus the file's {@code eos_token_id}.
 */
public final class StopTokens {
    static final String[] TEXTS = {"<eos>", "<turn|>", "<|tool_response>"};
    private final int[] ids;

    public StopTokens(int... ids) {
        this.ids = Arrays.stream(ids).distinct().sorted().toArray();
    }

    /** Looks the stop tokens up in the GGUF vocabulary; texts that are absent are skipped. */
    public static StopTokens of(GgufFile gguf) {
        GgufValue tokens = gguf.get(Gemma4Tokenizer.KEY_TOKENS);
        int[] found = new int[TEXTS.length + 1];
        int n = 0;
        if (tokens != null && tokens.isArray()) {
            String[] t = tokens.asStringArray();
            for (int i = 0; i < t.length; i++) {
                for (String s : TEXTS) {
                    if (s.equals(t[i])) {
                        found[n++] = i;
                    }
                }
            }
        }
        GgufValue eos = gguf.get(Gemma4Tokenizer.KEY_EOS);
        if (eos != null && eos.isInteger()) {
            found[n++] = eos.asInt();
        }
        return new StopTokens(Arrays.copyOf(found, n));
    }

    public boolean isStop(int token) {
        return Arrays.binarySearch(ids, token) >= 0;
    }

    public int[] ids() {
        return ids.clone();
    }
}
