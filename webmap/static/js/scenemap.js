/* Qingdao consumption-scene map: fills folium's empty overlay groups from /api/layers/<id>.
 * Property text is only ever set with textContent: nothing from the data is parsed as HTML. */
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('scenemap-config').textContent);
  var map = window[config.map];
  var searchGroup = window[config.search];
  var statusBox = document.getElementById('scenemap-status');
  var overlays = {};
  var el = window.SceneCommon.el;
  var matchingRules = window.SceneCommon.matchingRules;
  var styleFor = window.SceneCommon.styleFor;

  function fieldsOf(kind) {
    var byName = {};
    kind.fields.forEach(function (f) { byName[f.name] = f; });
    return byName;
  }

  function display(field, value) {
    if (field.input === 'checkbox') { return value ? '是 yes' : '否 no'; }
    var choice = field.choices && Object.prototype.hasOwnProperty.call(field.choices, value) ? field.choices[value] : null;
    if (choice) { return choice[0] === choice[1] ? choice[0] : choice[0] + ' · ' + choice[1]; }
    return String(value);
  }

  function tooltipFor(kind, props) {
    var box = el('div', 'scene-tip');
    box.appendChild(el('strong', null, props.name));
    matchingRules(kind, props).forEach(function (rule) {
      box.appendChild(el('span', 'badge' + (rule.prop === 'weekend_block' ? ' weekend' : ''), rule.zh));
    });
    if (props.name_en) { box.appendChild(el('div', 'en', props.name_en)); }
    return box;
  }

  function popupFor(kind, props) {
    var fields = fieldsOf(kind);
    var box = el('div', 'scene-popup');
    var tag = el('span', 'kind', kind.zh + ' ' + kind.en);
    tag.style.background = kind.style.fillColor || kind.style.color;
    box.appendChild(tag);
    box.appendChild(el('h3', null, props.name));
    if (props.name_en) { box.appendChild(el('p', 'sub', props.name_en)); }
    var table = el('table');
    kind.popup.forEach(function (name) {
      var value = props[name];
      if (name === 'name_en' || value === undefined || value === null || value === '') { return; }
      var row = el('tr');
      row.appendChild(el('th', null, fields[name].zh + ' ' + fields[name].en));
      row.appendChild(el('td', null, display(fields[name], value)));
      table.appendChild(row);
    });
    box.appendChild(table);
    if (props.source) { box.appendChild(el('p', 'source', '来源 Source: ' + display(fields.source, props.source))); }
    if (props.note) { box.appendChild(el('p', 'source', props.note)); }
    return box;
  }

  function paneFor(kind) {
    var name = 'scene-' + kind.id;
    if (!map.getPane(name)) {
      map.createPane(name).style.zIndex = String(kind.context ? 350 : 400 + 10 * kind.z_order);
    }
    return name;
  }

  function geoLayer(kind, data) {
    var pane = paneFor(kind);
    return L.geoJSON(data, {
      pane: pane,
      style: function (feature) {
        var style = styleFor(kind, feature.properties || {});
        // without tiles the district outlines are the basemap: fill them as land
        if (kind.context && !config.basemap.tiles) { style.fillOpacity = 1; }
        return style;
      },
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, Object.assign({ pane: pane }, styleFor(kind, feature.properties || {})));
      },
      onEachFeature: function (feature, layer) {
        var props = feature.properties || {};
        layer.options.searchLabel = props.name_en ? props.name + ' ' + props.name_en : String(props.name);
        layer.sceneKind = kind.id;
        layer.bindTooltip(function () { return tooltipFor(kind, props); }, { sticky: !kind.point_layer });
        layer.bindPopup(function () { return popupFor(kind, props); }, { maxWidth: 320 });
      }
    });
  }

  function reveal(layer) {
    var overlay = overlays[layer.sceneKind];
    if (!overlay) { return; }
    if (!map.hasLayer(overlay.group)) { map.addLayer(overlay.group); }
    if (overlay.group.zoomToShowLayer) {
      overlay.group.zoomToShowLayer(layer, function () { layer.openPopup(); });
    } else {
      map.fitBounds(layer.getBounds(), { maxZoom: 16, padding: [40, 40] });
      layer.openPopup(layer.getBounds().getCenter());
    }
  }

  function legend() {
    var control = L.control({ position: 'bottomright' });
    control.onAdd = function () {
      var box = el('section', 'scene-legend leaflet-control');
      box.setAttribute('aria-label', '图例 Legend');
      var toggle = el('button', null, '−');
      toggle.type = 'button';
      toggle.setAttribute('aria-label', '收起/展开图例 Collapse or expand the legend');
      box.appendChild(toggle);
      box.appendChild(el('h2', null, '图例 Legend'));
      var list = el('ul');
      function entry(style, shape, zh, en) {
        var item = el('li');
        var swatch = el('span', 'swatch ' + shape);
        swatch.style.background = shape === 'line' ? style.color : (style.fillColor || style.color);
        if (shape !== 'line') { swatch.style.border = '2px ' + (style.dashArray ? 'dashed ' : 'solid ') + style.color; }
        if (shape === 'line' && style.dashArray) {
          swatch.style.background = 'repeating-linear-gradient(90deg,' + style.color + ' 0 6px, transparent 6px 9px)';
        }
        item.appendChild(swatch);
        var text = el('span', null, zh + ' ');
        text.appendChild(el('span', 'en', en));
        item.appendChild(text);
        list.appendChild(item);
      }
      config.layers.forEach(function (kind) {
        var shape = kind.point_layer ? 'point' : (kind.geometry_types[0].indexOf('Line') >= 0 ? 'line' : 'area');
        entry(kind.style, shape, kind.zh, kind.en);
        kind.rules.forEach(function (rule) {
          entry(Object.assign({}, kind.style, rule.style), shape, '└ ' + rule.zh, rule.en);
        });
      });
      box.appendChild(list);
      box.appendChild(el('p', 'note', '示例数据，位置为示意，非官方认定。Sample data: approximate, not official.'));
      toggle.addEventListener('click', function () {
        var hidden = list.hidden = !list.hidden;
        toggle.textContent = hidden ? '+' : '−';
      });
      if (window.innerWidth < 640) { toggle.click(); }
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    return control.addTo(map);
  }

  // "Download what I see": the visible layers, within the current view, in a GIS format.
  function downloadControl() {
    var control = L.control({ position: 'bottomleft' });
    control.onAdd = function () {
      var box = el('form', 'scene-download leaflet-bar');
      box.setAttribute('aria-label', '下载当前视图 Download this view');
      var select = el('select');
      select.name = 'format';
      select.setAttribute('aria-label', '格式 Format');
      config.download.formats.forEach(function (pair) {
        var option = el('option', null, pair[1]);
        option.value = pair[0];
        select.appendChild(option);
      });
      var button = el('button', null, '下载视图 ');
      button.appendChild(el('span', 'en', 'Download view'));
      button.type = 'submit';
      box.appendChild(select);
      box.appendChild(button);
      box.addEventListener('submit', function (event) {
        event.preventDefault();
        var visible = Object.keys(overlays).filter(function (id) { return map.hasLayer(overlays[id].group); });
        if (!visible.length) { statusBox.textContent = '没有可见图层 No layer is visible'; return; }
        var b = map.getBounds();
        var clamp = function (v, lo, hi) { return Math.min(hi, Math.max(lo, v)).toFixed(6); };
        var bbox = [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90),
                    clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90)].join(',');
        window.location.href = config.download.url + '?' + new URLSearchParams(
          { layers: visible.join(','), bbox: bbox, format: select.value }).toString();
      });
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    return control.addTo(map);
  }

  function load(kind) {
    return fetch(kind.url, { headers: { Accept: 'application/geo+json' } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status + ' ' + response.statusText); }
        return response.json();
      })
      .then(function (data) {
        var layer = geoLayer(kind, data);
        var group = window[kind.group];
        group.addLayer(layer);
        searchGroup.addLayer(layer);
        overlays[kind.id] = { kind: kind, group: group, layer: layer, count: data.features.length };
        return overlays[kind.id];
      })
      .catch(function (error) {
        statusBox.textContent = '图层加载失败 Could not load ' + kind.zh + ' ' + kind.en + ' (' + error.message + ')';
        console.warn('scenemap: layer', kind.id, error);
      });
  }

  legend();
  downloadControl();
  // folium declares the layer control with `let`, so it is reached through its element: on a phone it
  // starts folded (tap the icon to open it, tap the map to fold it again).
  var layerBox = map.getContainer().querySelector('.leaflet-control-layers');
  if (window.innerWidth < 640 && layerBox) {
    var fold = function () { layerBox.classList.remove('leaflet-control-layers-expanded'); };
    fold();
    map.on('click', fold);
  }
  statusBox.textContent = '正在加载图层… Loading layers…';
  var ready = Promise.all(config.layers.map(load)).then(function () {
    if (statusBox.textContent.indexOf('正在加载') === 0) { statusBox.textContent = ''; }
    document.body.setAttribute('data-layers-loaded', 'true');
    return overlays;
  });

  window.SceneMap = { config: config, overlays: overlays, reveal: reveal, ready: ready };
}());
