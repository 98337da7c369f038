package dev.gemma4j.tornado;

import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.gguf.TensorInfo;
import dev.gemma4j.model.Experts;
import dev.gemma4j.model.Gemma4Config;
import dev.gemma4j.model.Gemma4Math;
import dev.gemma4j.model.Gemma4Weights;
import dev.gemma4j.model.Matrix;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * The model's weights as device arrays: every matrix in its stored format (one array per tensor, experts as
 * one 3-D array each), the 1-D norm and scale vectors as f32. Built from {@link Gemma4Weights}, which has
 * already checked names and shapes.
 */
final class DeviceModel {
    /** One decoder layer; optional parts are null as in {@link Gemma4Weights.Layer}. */
    record Layer(FloatArray attnNorm, DeviceWeight wq, DeviceWeight wk, DeviceWeight wv, FloatArray qNorm, FloatArray kNorm, DeviceWeight wo,
                 FloatArray postAttnNorm, FloatArray ffnNorm, DeviceWeight ffnGate, DeviceWeight ffnUp, DeviceWeight ffnDown,
                 FloatArray postFfwNorm1, DeviceWeight router, FloatArray routerScale, FloatArray preFfwNorm2,
                 DeviceWeight expertGateUp, DeviceWeight expertGate, DeviceWeight expertUp, DeviceWeight expertDown,
                 FloatArray expertDownScale, FloatArray postFfwNorm2, FloatArray postFfwNorm, float layerOutputScale) {
    }

    final DeviceWeight tokenEmbedding;
    final DeviceWeight outputHead;
    final FloatArray outputNorm;
    final float[] ropeFreqs;
    final float embeddingScale;
    final Layer[] layers;

    private DeviceModel(DeviceWeight emb, DeviceWeight head, FloatArray outNorm, float[] ropeFreqs, float embeddingScale, Layer[] layers) {
        this.tokenEmbedding = emb;
        this.outputHead = head;
        this.outputNorm = outNorm;
        this.ropeFreqs = ropeFreqs;
        this.embeddingScale = embeddingScale;
        this.layers = layers;
    }

    /** Stored bytes of every tensor the device will hold (the tied LM head counted once). */
    static long weightBytes(GgufFile gguf) {
        long n = 0;
        for (TensorInfo t : gguf.tensors()) {
            n += t.byteSize();
        }
        return n;
    }

    /** Checks every matrix's type has a kernel, before anything is copied. */
    static void checkFormats(Gemma4Weights w) {
        java.util.function.Consumer<Matrix> check = mtx -> {
            if (mtx != null) {
                DeviceWeight.formatCode(mtx.name(), mtx.format().type());
            }
        };
        check.accept(w.tokenEmbedding());
        check.accept(w.outputHead());
        for (Gemma4Weights.Layer l : w.layers()) {
            for (Matrix mtx : new Matrix[] {l.wq(), l.wk(), l.wv(), l.wo(), l.ffnGate(), l.ffnUp(), l.ffnDown(), l.router()}) {
                check.accept(mtx);
            }
            for (Experts e : new Experts[] {l.expertGateUp(), l.expertGate(), l.expertUp(), l.expertDown()}) {
                if (e != null) {
                    check.accept(e.all());
                }
            }
        }
    }

    static DeviceModel upload(Gemma4Config cfg, Gemma4Weights w) {
        DeviceWeight emb = matrix(w.tokenEmbedding());
        DeviceWeight head = w.outputHead() == w.tokenEmbedding() ? emb : matrix(w.outputHead());
        Layer[] layers = new Layer[cfg.layerCount()];
        for (int il = 0; il < layers.length; il++) {
            Gemma4Weights.Layer l = w.layers()[il];
            boolean moe = l.hasExperts();
            layers[il] = new Layer(
                vec(l.attnNorm()), matrix(l.wq()), matrix(l.wk()), l.wv() == null ? null : matrix(l.wv()), vec(l.qNorm()), vec(l.kNorm()),
                matrix(l.wo()), vec(l.postAttnNorm()), vec(l.ffnNorm()), matrix(l.ffnGate()), matrix(l.ffnUp()), matrix(l.ffnDown()),
                moe ? vec(l.postFfwNorm1()) : null, moe ? matrix(l.router()) : null, moe ? vec(l.routerScale()) : null,
                moe ? vec(l.preFfwNorm2()) : null,
                moe && l.expertGateUp() != null ? experts(l.expertGateUp()) : null,
                moe && l.expertGate() != null ? experts(l.expertGate()) : null,
                moe && l.expertUp() != null ? experts(l.expertUp()) : null,
                moe ? experts(l.expertDown()) : null,
                moe && l.expertDownScale() != null ? vec(l.expertDownScale()) : null,
                moe ? vec(l.postFfwNorm2()) : null, vec(l.postFfwNorm()), l.layerOutputScale());
        }
        return new DeviceModel(emb, head, vec(w.outputNorm()), w.ropeFreqs(), Gemma4Math.embeddingScale(cfg), layers);
    }

    private static DeviceWeight matrix(Matrix mtx) {
        return DeviceWeight.upload(mtx.name(), mtx.format().type(), mtx.data(), mtx.cols(), mtx.rows(), mtx.rowBytes(), 0);
    }

    /** The whole 3-D tensor as one array (the kernel indexes the chosen expert by its stride). */
    private static DeviceWeight experts(Experts e) {
        Matrix all = e.all();
        return DeviceWeight.upload(e.name(), all.format().type(), all.data(), all.cols(), e.rowsPerExpert(), all.rowBytes(), e.count());
    }

    private static FloatArray vec(float[] v) {
        return v == null ? null : FloatArray.fromArray(v);
    }
}
