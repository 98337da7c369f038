package dev.gemma4j.structured;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The compiled form of a schema: a graph of value nodes the {@link JsonAutomaton} walks. Nodes are
 * immutable once compiled (a {@link Ref} is patched once while compiling, for recursive schemas) and compare
 * by identity, which keeps the automaton's frame equality cheap.
 */
final class Grammar {
    private Grammar() {
    }

    /** A JSON value of some shape. */
    abstract static sealed class Node permits Any, Obj, MapObj, Arr, Str, Num, Lit, Union, Ref, ToolCalls {
    }

    /** Any JSON value (json_object members, schemas without constraints). */
    static final class Any extends Node {
        final Arr array = new Arr(this, 0, -1);
        final MapObj object = new MapObj(this);
    }

    /** A property of an {@link Obj}, with its key as the JSON string literal to emit. */
    record Property(String name, byte[] key, Node value, boolean required) {
    }

    /**
     * An object with declared properties, emitted in schema order; optional ones may be skipped and no
     * other property is emitted (so additionalProperties of any kind is satisfied).
     */
    static final class Obj extends Node {
        final Property[] props;
        final LitTrie keys;
        /** firstRequired[i]: index of the first required property at or after i, or props.length */
        final int[] firstRequired;
        /** Gemma 4's dict syntax (bare keys, no whitespace) instead of JSON */
        final boolean gemma;

        Obj(Property[] props) {
            this(props, false);
        }

        Obj(Property[] props, boolean gemma) {
            this.props = props;
            this.gemma = gemma;
            List<byte[]> k = new ArrayList<>();
            for (Property p : props) {
                k.add(p.key());
            }
            this.keys = LitTrie.of(k);
            firstRequired = new int[props.length + 1];
            firstRequired[props.length] = props.length;
            for (int i = props.length - 1; i >= 0; i--) {
                firstRequired[i] = props[i].required() ? i : firstRequired[i + 1];
            }
        }
    }

    /** An object with any string keys whose values all match {@code value}. */
    static final class MapObj extends Node {
        final Node value;

        MapObj(Node value) {
            this.value = value;
        }
    }

    static final class Arr extends Node {
        final Node item;
        final int min;
        /** -1: unbounded */
        final int max;
        /** Gemma 4's dict syntax: no whitespace */
        final boolean gemma;

        Arr(Node item, int min, int max) {
            this(item, min, max, false);
        }

        Arr(Node item, int min, int max, boolean gemma) {
            this.item = item;
            this.min = min;
            this.max = max;
            this.gemma = gemma;
        }
    }

    /**
     * A string of {@code min..max} code points (max -1: unbounded); in Gemma 4's dict syntax (gemma) it is
     * delimited by {@code <|"|>} and holds raw text.
     */
    static final class Str extends Node {
        final int min;
        final int max;
        final boolean gemma;

        Str(int min, int max) {
            this(min, max, false);
        }

        Str(int min, int max, boolean gemma) {
            this.min = min;
            this.max = max;
            this.gemma = gemma;
        }
    }

    /**
     * Gemma 4 tool calls: {@code min..max} times {@code <|tool_call>call:NAME} + the arguments dict of that
     * tool + {@code <tool_call|>}; {@code names} holds the {@code <|tool_call>call:NAME} prefixes, whose
     * literal index is the tool's index in {@code args}.
     */
    static final class ToolCalls extends Node {
        final LitTrie names;
        final Node[] args;
        final LitTrie close;
        final int min;
        final int max;

        ToolCalls(List<byte[]> prefixes, Node[] args, int min, int max) {
            this.names = LitTrie.of(prefixes);
            this.args = args;
            this.close = LitTrie.of(List.of("<tool_call|>".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            this.min = min;
            this.max = max;
        }
    }

    static final class Num extends Node {
        final boolean integer;

        Num(boolean integer) {
            this.integer = integer;
        }
    }

    /** One of a fixed set of serialized JSON values (enum, const, booleans, null). */
    static final class Lit extends Node {
        final LitTrie root;

        Lit(List<byte[]> values) {
            this.root = LitTrie.of(values);
        }
    }

    /** anyOf / oneOf / type arrays: any alternative. */
    static final class Union extends Node {
        final Node[] alternatives;

        Union(Node[] alternatives) {
            this.alternatives = alternatives;
        }
    }

    /** A {@code $ref}, resolved after its target is compiled (targets may refer back to it). */
    static final class Ref extends Node {
        Node target;
        final String pointer;

        Ref(String pointer) {
            this.pointer = pointer;
        }
    }

    /**
     * A byte trie of literals; each node knows which literal indices lie below it (for object keys, where only
     * a range of properties may come next). Literals of JSON strings end with a quote, so for them terminal
     * nodes are leaves; number literals may be prefixes of each other ({@code 1}, {@code 12}).
     */
    static final class LitTrie {
        final byte[] edges;
        final LitTrie[] children;
        /** index of the literal ending here, or -1 */
        final int terminal;
        /** sorted indices of the literals at or below this node */
        final int[] below;

        private LitTrie(byte[] edges, LitTrie[] children, int terminal, int[] below) {
            this.edges = edges;
            this.children = children;
            this.terminal = terminal;
            this.below = below;
        }

        static LitTrie of(List<byte[]> literals) {
            int[] all = new int[literals.size()];
            for (int i = 0; i < all.length; i++) {
                all[i] = i;
            }
            return build(literals, all, 0);
        }

        private static LitTrie build(List<byte[]> lits, int[] idx, int depth) {
            int terminal = -1;
            List<Integer> bytes = new ArrayList<>();
            for (int i : idx) {
                byte[] l = lits.get(i);
                if (l.length == depth) {
                    if (terminal < 0) {
                        terminal = i; // duplicates (enum ["a","a"]) collapse onto the first
                    }
                } else if (!bytes.contains(l[depth] & 0xFF)) {
                    bytes.add(l[depth] & 0xFF);
                }
            }
            bytes.sort(null);
            byte[] edges = new byte[bytes.size()];
            LitTrie[] children = new LitTrie[bytes.size()];
            for (int c = 0; c < edges.length; c++) {
                int b = bytes.get(c);
                int[] sub = Arrays.stream(idx).filter(i -> lits.get(i).length > depth && (lits.get(i)[depth] & 0xFF) == b).toArray();
                edges[c] = (byte) b;
                children[c] = build(lits, sub, depth + 1);
            }
            int[] below = idx.clone();
            Arrays.sort(below);
            return new LitTrie(edges, children, terminal, below);
        }

        LitTrie child(int b) {
            for (int i = 0; i < edges.length; i++) {
                if ((edges[i] & 0xFF) == b) {
                    return children[i];
                }
            }
            return null;
        }

        /** Whether some literal at or below this node has an index in [lo, hi]. */
        boolean hasIndexIn(int lo, int hi) {
            int p = Arrays.binarySearch(below, lo);
            if (p >= 0) {
                return true;
            }
            p = -p - 1;
            return p < below.length && below[p] <= hi;
        }
    }
}
