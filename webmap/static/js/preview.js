/* The staff import preview: names as tooltips on the new features, the layer's live features and the
   district outlines. The names come from the page's JSON (#preview-config) and are set with textContent
   (SceneCommon.el), never parsed as HTML. */
(function () {
  'use strict';
  var node = document.getElementById('preview-config');
  if (!node) { return; }
  var config = JSON.parse(node.textContent);
  var labels = { new: '新 New', live: '现有 Live', districts: '' };
  Object.keys(config.groups || {}).forEach(function (role) {
    var group = window[config.groups[role]];
    var names = config.names[role] || [];
    if (!group) { return; }
    group.eachLayer(function (layer) {
      var name = names[layer.feature.properties.i];
      if (!name) { return; }
      var tip = window.SceneCommon.el('span', 'preview-tip preview-' + role);
      if (labels[role]) { tip.appendChild(window.SceneCommon.el('small', null, labels[role] + ' ')); }
      tip.appendChild(document.createTextNode(name));
      layer.bindTooltip(tip, { sticky: role !== 'new' || !layer.getLatLng });
    });
  });
  document.body.setAttribute('data-preview-ready', 'true');
}());
