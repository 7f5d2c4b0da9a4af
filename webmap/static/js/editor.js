/* Layer editor: Leaflet.draw (folium's Draw plugin) draws, moves and deletes; a form generated from the
 * layer's schema edits properties; Save sends the whole layer to the server, which checks it and publishes
 * it as a new version (or answers with the problems, or 409 when someone else published first).
 * Nothing is published until "保存为新版本 Save as a new version": Leaflet.draw's own toolbar buttons only end
 * a drawing step, and say so; while the map differs from the last saved version the panel says there are
 * unsaved changes and leaving the page asks first; a save that removes features names them and asks first.
 * Property text only ever goes through textContent and input values. */
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('editor-config').textContent);
  var map = window[config.map];
  var group = window[config.group];
  var kind = config.kind;
  var form = document.getElementById('editor-form');
  var statusBox = document.getElementById('editor-status');
  var problemList = document.getElementById('editor-problems');
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  var version = config.version;
  var selected = null;
  var counter = 0;
  var el = window.SceneCommon.el;
  var unsavedBox = document.getElementById('editor-unsaved');
  var saved = null;  // the features as last saved (or loaded): id -> JSON text
  var savedNames = {};

  // Leaflet.draw's words (toolbar buttons and cursor hints) are set in draw-local.js, loaded before the map.

  function styleFor(props) {
    return window.SceneCommon.styleFor(kind, props);
  }

  function parse(field, input) {
    // field.input is the field type's editing hint, declared once in layers/fieldtypes.py
    if (field.input === 'checkbox') { return input.checked; }
    var text = input.value.trim();
    if (text === '') { return null; }
    if (field.input === 'integer') { return /^-?\d+$/.test(text) ? parseInt(text, 10) : text; }
    if (field.input === 'number') { return isNaN(Number(text)) ? text : Number(text); }
    return text;
  }

  function inputFor(field, value) {
    var input;
    var choices = Object.keys(field.choices || {}).map(function (c) {
      var labels = field.choices[c];
      return [c, labels[0] === labels[1] ? labels[0] : labels.join(' · ')];
    });
    if (choices.length) {
      input = el('select');
      input.appendChild(el('option', null, '—'));
      input.firstChild.value = '';
      choices.forEach(function (pair) {
        var option = el('option', null, pair[1]);
        option.value = pair[0];
        input.appendChild(option);
      });
      input.value = value === undefined || value === null ? '' : String(value);
    } else if (field.input === 'checkbox') {
      input = el('input');
      input.type = 'checkbox';
      input.checked = value === true;
    } else {
      input = el('input');
      input.type = field.input === 'integer' || field.input === 'number' ? 'number' : 'text';
      if (field.input === 'number') { input.step = 'any'; }
      if (field.input === 'hours') { input.placeholder = 'Mo-Su 10:00-22:00'; }
      input.value = value === undefined || value === null ? '' : String(value);
    }
    input.name = field.name;
    return input;
  }

  function select(layer) {
    selected = layer;
    var props = layer.feature.properties;
    form.textContent = '';
    form.appendChild(el('h2', null, '要素 Feature ' + layer.feature.id));
    kind.fields.forEach(function (field) {
      var label = el('label', null, field.zh + ' ' + field.en + (field.required ? ' *' : ''));
      var input = inputFor(field, props[field.name]);
      input.addEventListener(input.type === 'checkbox' ? 'change' : 'input', function () {
        var value = parse(field, input);
        if (value === null || value === false && !(field.name in props)) { delete props[field.name]; } else { props[field.name] = value; }
        if (layer.setStyle) { layer.setStyle(styleFor(props)); }
      });
      label.appendChild(input);
      form.appendChild(label);
    });
    form.hidden = false;
  }

  // The layer's GeoJSON names every declared field, null where a feature has no value; here, as in the store,
  // a field without a value is absent (the form shows it empty, and clearing a field deletes it).
  function withValues(properties) {
    var out = {};
    Object.keys(properties || {}).forEach(function (name) {
      if (properties[name] !== null) { out[name] = properties[name]; }
    });
    return out;
  }

  function prepare(layer, feature) {
    layer.feature = { type: 'Feature', id: feature.id, properties: withValues(feature.properties) };
    layer.on('click', function () { select(layer); });
    if (layer.setStyle) { layer.setStyle(styleFor(layer.feature.properties)); }
  }

  function collect() {
    return group.getLayers().map(function (layer) {
      return { type: 'Feature', id: layer.feature.id, properties: layer.feature.properties,
               geometry: layer.toGeoJSON(7).geometry };
    });
  }

  function snapshot(features) {
    var out = {};
    features.forEach(function (f) { out[String(f.id)] = JSON.stringify([f.properties, f.geometry]); });
    return out;
  }

  function remember(features) {
    saved = snapshot(features);
    savedNames = {};
    features.forEach(function (f) { savedNames[String(f.id)] = f.properties.name; });
  }

  // What differs from the last saved version: {added, changed, removed} ids.
  function changes() {
    var now = snapshot(collect());
    var out = { added: [], changed: [], removed: [] };
    Object.keys(now).forEach(function (id) {
      if (!(id in saved)) { out.added.push(id); } else if (saved[id] !== now[id]) { out.changed.push(id); }
    });
    Object.keys(saved).forEach(function (id) { if (!(id in now)) { out.removed.push(id); } });
    return out;
  }

  function unsaved() {
    if (saved === null) { return false; }
    var c = changes();
    return c.added.length + c.changed.length + c.removed.length > 0;
  }

  function showUnsaved() {
    if (saved === null) { return; }
    var c = changes();
    var dirty = c.added.length + c.changed.length + c.removed.length > 0;
    unsavedBox.textContent = dirty
      ? '有未保存的修改（新增 ' + c.added.length + ' · 修改 ' + c.changed.length + ' · 删除 ' + c.removed.length +
        '），按“保存为新版本”才会发布 · Unsaved changes (+' + c.added.length + ' ~' + c.changed.length + ' −' +
        c.removed.length + '): nothing is published until you press 保存为新版本 Save as a new version'
      : '没有未保存的修改 No unsaved changes';
    unsavedBox.className = dirty ? 'unsaved' : '';
    document.body.setAttribute('data-unsaved', String(dirty));
  }

  ['draw:created', 'draw:edited', 'draw:deleted', 'draw:editstop', 'draw:deletestop', 'draw:editmove',
   'draw:editvertex', 'draw:editresize'].forEach(function (name) {
    map.on(name, function () { setTimeout(showUnsaved, 0); });  // after Leaflet.draw has done its part
  });
  form.addEventListener('input', showUnsaved);
  form.addEventListener('change', showUnsaved);
  window.addEventListener('beforeunload', function (e) {
    if (!unsaved()) { return undefined; }
    e.preventDefault();
    e.returnValue = '有未保存的修改 You have unsaved changes';  // older browsers want a value
    return e.returnValue;
  });

  map.on(L.Draw.Event.CREATED, function (e) {
    counter += 1;
    prepare(e.layer, { id: kind.id + '-new-' + Date.now().toString(36) + '-' + counter, properties: {} });
    select(e.layer);
  });
  map.on(L.Draw.Event.DELETED, function (e) {
    e.layers.eachLayer(function (layer) { if (layer === selected) { selected = null; form.hidden = true; } });
  });

  var saveButton = document.getElementById('editor-save');
  // What a failed save says first, by status; the server's own detail (and problems) follow when it sent JSON.
  var FAILURES = {
    0: '网络错误，未保存 Network error: not saved; check the connection and save again',
    400: '保存失败 Not saved',
    401: '登录已过期，未保存 Your session has ended: not saved; log in again in another tab, then save again',
    403: '没有权限，未保存 Not allowed: not saved',
    404: '找不到图层，未保存 Not found: not saved',
    409: '冲突 Conflict: not saved',
    413: '修改太大，未保存 Too large: not saved'
  };

  function failure(status) {
    return FAILURES[status] || (status >= 500 ? '服务器错误，未保存 Server error: not saved; try again later'
                                              : '保存失败 Not saved');
  }

  // Any answer becomes {status, body}: body is the server's JSON, or null for anything else (a log-in page
  // after an ended session, a proxy's error page, a 413 from a front server...).
  function read(response) {
    if (response.redirected && /\/staff\/login/.test(response.url)) {  // the session ended: sent to log in
      return { status: 401, body: null };
    }
    var type = response.headers.get('Content-Type') || '';
    if (!/^application\/json/.test(type)) { return { status: response.status, body: null }; }
    return response.json().then(function (body) { return { status: response.status, body: body }; },
                                function () { return { status: response.status, body: null }; });
  }

  function show(answer, features) {
    var body = answer.body;
    if (answer.status === 200 && body && typeof body.version === 'number') {
      version = body.version;
      statusBox.textContent = body.unchanged ? '没有改动 Nothing changed (version ' + version + ')'
        : '已保存为第 ' + version + ' 版 Saved as version ' + version +
          ' (+' + body.added + ' ~' + body.changed + ' −' + body.removed + ')';
      return;
    }
    statusBox.textContent = failure(answer.status) + (answer.status ? ' (HTTP ' + answer.status + ')' : '') +
      (body && body.detail ? ': ' + body.detail : '');
    ((body && body.problems) || []).forEach(function (problem) {
      var id = features[problem.index] ? features[problem.index].id : problem.feature_id;
      problemList.appendChild(el('li', null, (id !== undefined && id !== null ? id + ': ' : '') +
        (problem.name ? '「' + problem.name + '」 ' : '') + problem.message));
    });
  }

  // Removing features is said, with their names, and asked before it is sent.
  function confirmRemovals() {
    var removed = changes().removed;
    if (!removed.length) { return true; }
    var names = removed.slice(0, 20).map(function (id) { return (savedNames[id] || '') + ' (' + id + ')'; });
    if (removed.length > 20) { names.push('… +' + (removed.length - 20)); }
    return window.confirm('将删除 ' + removed.length + ' 个现有要素 · This will remove ' + removed.length +
                          ' existing features:\n' + names.join('\n') + '\n\n确定保存？ Save and remove them?');
  }

  function save() {
    var features = collect();
    if (!confirmRemovals()) {
      statusBox.textContent = '未保存 Not saved: nothing was sent';
      document.body.setAttribute('data-saved', 'cancelled');
      return Promise.resolve();
    }
    statusBox.textContent = '保存中… Saving…';
    problemList.textContent = '';
    saveButton.disabled = true;
    var status = 0;
    return fetch(config.save, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf },
      body: JSON.stringify({ expected_version: version, collection: { type: 'FeatureCollection', features: features } })
    }).then(read, function () { return { status: 0, body: null }; }).then(function (answer) {
      status = answer.status;
      if (answer.status === 200 && answer.body && typeof answer.body.version === 'number') { remember(features); }
      show(answer, features);
      showUnsaved();
    }).catch(function (error) {  // a fault of ours: still say that nothing was saved
      statusBox.textContent = '保存失败 Not saved: ' + error;
    }).then(function () {
      saveButton.disabled = false;
      document.body.setAttribute('data-saved', String(status));
    });
  }

  saveButton.addEventListener('click', save);
  // the district outlines, for orientation only: not editable, not clickable
  map.createPane('context').style.zIndex = '350';
  fetch(config.context).then(function (response) { return response.json(); }).then(function (data) {
    L.geoJSON(data, { pane: 'context', interactive: false,
                      style: { color: '#5b6770', weight: 1, fillColor: '#f4f1ea', fillOpacity: 1, dashArray: '4 3' } })
      .addTo(map);
  });
  fetch(config.data).then(function (response) { return response.json(); }).then(function (data) {
    L.geoJSON(data, { pointToLayer: function (feature, latlng) { return L.marker(latlng); } })
      .eachLayer(function (layer) { prepare(layer, layer.feature); group.addLayer(layer); });
    if (group.getLayers().length) { map.fitBounds(group.getBounds(), { maxZoom: 15 }); }
    remember(collect());
    showUnsaved();
    document.body.setAttribute('data-layers-loaded', 'true');
  });
  window.SceneEditor = { group: group, select: select, save: save, unsaved: unsaved };
}());
