/* Helpers shared by the public map (scenemap.js) and the layer editor (editor.js). */
window.SceneCommon = (function () {
  'use strict';

  /** A new element; text (if any) is set with textContent, never parsed as HTML. */
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  /** The kind's style rules (declared in layers/registry.py) that a feature's properties match. */
  function matchingRules(kind, props) {
    return kind.rules.filter(function (rule) { return props[rule.prop] === rule.value; });
  }

  /** The Leaflet path style of a feature: the kind's style with its matching rules applied. */
  function styleFor(kind, props) {
    var style = Object.assign({}, kind.style);
    matchingRules(kind, props).forEach(function (rule) { Object.assign(style, rule.style); });
    return style;
  }

  return { el: el, matchingRules: matchingRules, styleFor: styleFor };
}());
