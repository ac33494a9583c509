// htm bound to preact's h: the screens are tagged templates, no JSX build step needed.
import { h } from "preact";
import htm from "htm";

export const html = htm.bind(h);
