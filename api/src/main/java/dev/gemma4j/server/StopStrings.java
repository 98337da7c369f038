package dev.gemma4j.server;

import java.util.List;

/**
 * Finds the request's stop strings in streamed text. Text that could be the start of a stop string is held
 * back until it is known not to be one, so a stop string is never partly sent; the text from the first
 * match on is dropped (OpenAI does not return the stop text).
 */
final class StopStrings {
    private final List<String> stops;
    private final StringBuilder held = new StringBuilder();
    private boolean hit;

    StopStrings(List<String> stops) {
        this.stops = stops;
    }

    /** Adds text; returns what is safe to send now. After a match, returns the text before it and then "". */
    String feed(String text) {
        if (hit) {
            return "";
        }
        if (stops.isEmpty()) {
            return text;
        }
        held.append(text);
        int first = -1;
        for (String s : stops) {
            int i = held.indexOf(s);
            if (i >= 0 && (first < 0 || i < first)) {
                first = i;
            }
        }
        if (first >= 0) {
            hit = true;
            String out = held.substring(0, first);
            held.setLength(0);
            return out;
        }
        // keep the longest tail that is a prefix of some stop string
        String h = held.toString();
        int keep = 0;
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, h.length()); k > keep; k--) {
                if (h.regionMatches(h.length() - k, s, 0, k)) {
                    keep = k;
                    break;
                }
            }
        }
        String out = held.substring(0, held.length() - keep);
        held.delete(0, held.length() - keep);
        return out;
    }

    /** The end of the output: releases held-back text (which matched no stop string). */
    String flush() {
        String out = held.toString();
        held.setLength(0);
        return hit ? "" : out;
    }

    boolean hit() {
        return hit;
    }
}
