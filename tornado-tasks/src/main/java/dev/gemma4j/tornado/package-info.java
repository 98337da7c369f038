/**
 * The TornadoVM backend: the Gemma 4 layer as TaskGraphs, JIT-compiled to PTX, OpenCL or SPIR-V.
 * Built only with {@code -Ptornado}; the kernels arrive with the backend issue.
 */
package dev.gemma4j.tornado;
