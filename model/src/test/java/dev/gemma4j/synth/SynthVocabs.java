package dev.gemma4j.synth;

/** Vocabularies shared by the test classes of one JVM (the 262144-token one takes seconds to build). */
final class SynthVocabs {
    private SynthVocabs() {
    }

    private static final class Real {
        static final SynthTokenizer.Vocab VOCAB = SynthTokenizer.build(262144);
    }

    static SynthTokenizer.Vocab real() {
        return Real.VOCAB;
    }
}
