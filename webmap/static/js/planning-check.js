/* Check a site (the planning desk): click the map, draw the seating area (Leaflet.draw, folium's Draw plugin)
 * or pick a pilot; the permit's fields; POST the site to the check endpoint (CSRF token in a header, as the
 * layer editor posts) and show each rule's verdict (status in words and colour, the reason with the measured
 * value, the suggested condition), the overall verdict and the ruleset version; on the map the rules' buffers,
 * the protected places listed (highlighted) and a distance line to each, labelled in metres. Those who may
 * change the pilot layer may save the checked site as a proposed pilot (a new version; asked first).
 * After a check the permit form folds to one line so the verdicts show at once (on a phone the page scrolls to
 * them). The source (数据来源) sits by the save button, never prefilled; an existing pilot is not offered for
 * saving; a saved site is saved once (the button waits for the next check). The layers read and the layer a
 * save adds to are the page config's (layer_ids, save_layer, urls). Every name and message goes through
 * textContent (SceneCommon.el), never HTML. */
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('check-config').textContent);
  var map = window[config.map];
  var group = window[config.group];
  var el = window.SceneCommon.el;
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  var form = document.getElementById('check-form');
  var fieldsBox = document.getElementById('check-fields');
  var pilotSelect = document.getElementById('check-pilot');
  var siteText = document.getElementById('check-site');
  var resultBox = document.getElementById('check-result');
  var statusText = document.getElementById('check-status');
  var saveBox = document.getElementById('check-save-box');
  var saveButton = document.getElementById('check-save');
  var savedText = document.getElementById('check-saved');
  var saveFields = document.getElementById('check-save-fields');
  var existingNote = document.getElementById('check-existing');
  var permit = document.getElementById('check-permit');
  var permitSummary = document.getElementById('check-permit-summary');
  // the layers read and the one a save adds to: the server's config says which (these ids are its defaults)
  var LAYERS = Object.assign({ sites: 'outdoor_dining_pilots', places: 'sensitive_sites', complaints: 'complaints' },
                             config.layer_ids || {});
  var SAVE_LAYER = config.save_layer || LAYERS.sites;
  var saved = false;
  var asked = 0;         // the number of checks asked: only the last one's answer is shown     // the last check was saved: the save button waits for the next check
  var districtAuto = true;  // the district field holds what the map said (a new site's check replaces it)
  var site = null;       // {geometry, site_id}
  var checked = null;    // the body of the last successful check, and its answer
  var pilots = {};       // id -> feature
  var drawing = false;
  var inputs = {};

  map.createPane('context').style.zIndex = '390';
  map.createPane('check').style.zIndex = '420';
  map.createPane('pilots').style.zIndex = '450';
  // the district outlines, for orientation only (as in the layer editor)
  map.createPane('districts').style.zIndex = '350';
  fetch(config.urls.districts).then(function (response) { return response.json(); }).then(function (data) {
    L.geoJSON(data, { pane: 'districts', interactive: false,
                      style: { color: '#5b6770', weight: 1, fillColor: '#f4f1ea', fillOpacity: 1, dashArray: '4 3' } })
      .addTo(map);
  });
  var overlay = L.layerGroup().addTo(map);

  // --- the permit's fields ------------------------------------------------------------------------------
  function inputFor(field) {
    var input;
    var choices = Object.keys(field.choices || {});
    if (choices.length) {
      input = el('select');
      input.appendChild(el('option', null, '—'));
      input.firstChild.value = '';
      choices.forEach(function (c) {
        var labels = field.choices[c];
        var option = el('option', null, labels[0] === labels[1] ? labels[0] : labels.join(' · '));
        option.value = c;
        input.appendChild(option);
      });
    } else {
      input = el('input');
      input.type = field.input === 'integer' || field.input === 'number' ? 'number' : 'text';
      if (field.input === 'number') { input.step = 'any'; input.min = '0'; }
      if (field.input === 'hours') {
        input.placeholder = '例 e.g. ' + (field.name === 'season' ? 'Apr-Oct' : 'Mo-Su 10:00-22:00');
      }
    }
    input.name = field.name;
    return input;
  }

  config.form.forEach(function (field) {
    var label = el('label', null, field.zh + ' ' + field.en);
    var input = inputFor(field);
    label.appendChild(input);
    // the source only matters to a save: it sits by the save button, with no default (the planner says it)
    if (field.name === 'source' && saveFields) {
      label.appendChild(el('small', 'hint', '保存前必选，如实填写 · required to save: say where the site comes from'));
      saveFields.appendChild(label);
    } else {
      fieldsBox.appendChild(label);
    }
    inputs[field.name] = { field: field, input: input };
  });
  if (inputs.district) {
    inputs.district.input.addEventListener('change', function () { districtAuto = !inputs.district.input.value; });
  }

  function summarise() {  // the folded permit's line: what the check read
    var parts = [];
    ['name', 'opening_hours', 'clear_walkway_m', 'capacity', 'season'].forEach(function (name) {
      var entry = inputs[name];
      if (!entry || !entry.input.value.trim()) { return; }
      var text = entry.input.value.trim();
      if (entry.input.tagName === 'SELECT') { text = entry.input.options[entry.input.selectedIndex].textContent; }
      parts.push(name === 'name' ? text : entry.field.zh + ' ' + entry.field.en + ': ' + text);
    });
    permitSummary.textContent = parts.length ? parts.join(' · ') : '（未填写 nothing filled in）';
  }

  function properties() {
    var out = {};
    Object.keys(inputs).forEach(function (name) {
      var field = inputs[name].field;
      var text = inputs[name].input.value.trim();
      if (text === '') { return; }
      if (field.input === 'integer') { out[name] = /^-?\d+$/.test(text) ? parseInt(text, 10) : text; return; }
      if (field.input === 'number') { out[name] = isNaN(Number(text)) ? text : Number(text); return; }
      out[name] = text;
    });
    return out;
  }

  function fill(props) {  // a pilot's permit; never its source (a save says its own, see above)
    Object.keys(inputs).forEach(function (name) {
      if (name === 'source') { return; }
      var value = props[name];
      inputs[name].input.value = value === undefined || value === null ? '' : String(value);
    });
  }

  // --- the context layers ---------------------------------------------------------------------------------
  function styleFor(kindId, props, extra) {
    var kind = config.kinds[kindId];
    return Object.assign(window.SceneCommon.styleFor(kind, props || {}), { pane: 'context' }, extra || {});
  }

  function tip(text, small) {
    var node = el('span', 'check-tip');
    if (small) { node.appendChild(el('small', null, small + ' ')); }
    node.appendChild(document.createTextNode(text || ''));
    return node;
  }

  function load(kindId, options) {
    if (!config.urls.layers[kindId]) { return Promise.resolve(null); }
    return fetch(config.urls.layers[kindId], { credentials: 'same-origin' })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        var extra = options.extra || {};
        var layer = L.geoJSON(data, Object.assign({
          pane: extra.pane || 'context', className: extra.className,
          style: function (feature) { return styleFor(kindId, feature.properties, options.extra); },
          pointToLayer: function (feature, latlng) {
            return L.circleMarker(latlng, styleFor(kindId, feature.properties, options.extra));
          }
        }, options.geojson || {}));
        layer.addTo(map);
        return layer;
      });
  }

  var categories = config.categories;
  var loads = [
    load(LAYERS.places, {
      extra: { className: 'check-place', interactive: true },
      geojson: { onEachFeature: function (feature, layer) {
        var c = categories[feature.properties.category] || [feature.properties.category, ''];
        layer.bindTooltip(tip(feature.properties.name, c[0] + ' ' + c[1]), { sticky: true });
      } }
    }),
    load(LAYERS.complaints, {
      extra: { className: 'check-complaint', radius: 3 },
      geojson: { onEachFeature: function (feature, layer) {
        layer.bindTooltip(tip(String(feature.properties.received || ''), '投诉 Complaint'), { sticky: true });
      } }
    }),
    load(LAYERS.sites, {
      extra: { className: 'check-pilot', pane: 'pilots' },
      geojson: { onEachFeature: function (feature, layer) {
        pilots[String(feature.id)] = feature;
        layer.bindTooltip(tip(feature.properties.name, '外摆试点 Pilot'));
        layer.on('click', function (e) { L.DomEvent.stopPropagation(e); pick(String(feature.id)); });
      } }
    })
  ];
  Promise.all(loads).then(function () {
    Object.keys(pilots).sort(function (a, b) {
      return String(pilots[a].properties.name).localeCompare(String(pilots[b].properties.name), 'zh');
    }).forEach(function (id) {
      var option = el('option', null, pilots[id].properties.name + ' (' + id + ')');
      option.value = id;
      pilotSelect.appendChild(option);
    });
    document.body.setAttribute('data-check-ready', 'true');
  });

  // --- the site -------------------------------------------------------------------------------------------
  function setSite(geometry, siteId, layer) {
    group.clearLayers();
    if (layer) { group.addLayer(layer); }
    site = { geometry: geometry, site_id: siteId || null };
    var c = geometry.type === 'Point' ? geometry.coordinates : null;
    siteText.textContent = (siteId ? '试点 Pilot ' + siteId + ' · ' : '') +
      (c ? '点 Point ' + c[1].toFixed(5) + ', ' + c[0].toFixed(5) : '绘制的外摆范围 Drawn seating area');
  }

  function pick(id) {
    var feature = pilots[id];
    if (!feature) { return; }
    pilotSelect.value = id;
    fill(feature.properties);
    districtAuto = true;  // (the pilot's own; a new site's check then puts the map's)
    var c = feature.geometry.coordinates;
    setSite(feature.geometry, id, feature.geometry.type === 'Point' ? L.marker([c[1], c[0]]) : null);
    run();
  }

  pilotSelect.addEventListener('change', function () {
    if (pilotSelect.value) { pick(pilotSelect.value); }
  });

  map.on('draw:drawstart', function () { drawing = true; });
  map.on('draw:drawstop', function () { setTimeout(function () { drawing = false; }, 0); });
  map.on(L.Draw.Event.CREATED, function (e) {
    pilotSelect.value = '';
    setSite(e.layer.toGeoJSON(7).geometry, null, e.layer);
    run();
  });
  map.on('click', function (e) {
    if (drawing) { return; }
    pilotSelect.value = '';
    var ll = e.latlng;
    setSite({ type: 'Point', coordinates: [Number(ll.lng.toFixed(7)), Number(ll.lat.toFixed(7))] }, null, L.marker(ll));
    run();
  });

  // --- the check ------------------------------------------------------------------------------------------
  function read(response) {  // any answer becomes {status, body}: body is the server's JSON, or null
    if (response.redirected && /\/staff\/login/.test(response.url)) { return { status: 401, body: null }; }
    var type = response.headers.get('Content-Type') || '';
    if (!/^application\/json/.test(type)) { return { status: response.status, body: null }; }
    return response.json().then(function (body) { return { status: response.status, body: body }; },
                                function () { return { status: response.status, body: null }; });
  }

  var FAILURES = {
    0: '网络错误 Network error: try again',
    400: '无法检查 Cannot check this site',
    401: '登录已过期 Your session has ended: log in again in another tab',
    403: '没有权限 Not allowed',
    409: '冲突 Conflict',
    413: '太大 Too large'
  };

  function post(url, body) {
    return fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf },
      body: JSON.stringify(body)
    }).then(read, function () { return { status: 0, body: null }; });
  }

  function failed(answer) {
    return (FAILURES[answer.status] || '出错了 Something went wrong') + (answer.status ? ' (HTTP ' + answer.status + ')' : '') +
      (answer.body && answer.body.detail ? ': ' + answer.body.detail
                                         : (answer.status === 400 ? ': 页面可能已过期，请重新加载 the page may have expired; reload it' : ''));
  }

  function clearResult() {
    Array.prototype.slice.call(resultBox.children).forEach(function (node) {
      if (node !== statusText) { resultBox.removeChild(node); }
    });
    overlay.clearLayers();
    if (saveBox) { saveBox.hidden = true; }
    if (existingNote) { existingNote.hidden = true; }
  }

  function badge(status) {
    var label = config.statuses[status] || [status, status];
    return el('span', 'verdict status-' + status, label[0] + ' ' + label[1]);
  }

  function rule(id) {
    return config.rules.filter(function (r) { return r.id === id; })[0] || { title: { zh: '', en: '' } };
  }

  function showResult(answer) {
    var result = answer.result;
    var head = el('p', 'check-overall');
    head.appendChild(el('strong', null, '总体 Overall: '));
    head.appendChild(badge(answer.overall.status));
    resultBox.appendChild(head);
    resultBox.appendChild(el('p', 'hint check-ruleset', '按规则第 ' + answer.ruleset.version + ' 版检查 · checked against ruleset version ' +
      answer.ruleset.version + ' (' + answer.ruleset.digest + ')'));
    var list = el('ol', 'check-verdicts');
    result.verdicts.forEach(function (v) {
      var item = el('li', 'check-verdict status-' + v.status);
      var title = el('p', 'check-rule');
      title.appendChild(badge(v.status));
      var r = rule(v.rule);
      title.appendChild(el('strong', null, ' ' + v.rule + ' '));
      title.appendChild(document.createTextNode(r.title.zh + ' · ' + r.title.en));
      item.appendChild(title);
      item.appendChild(el('p', 'check-reason', v.reason));
      if (v.suggestion) { item.appendChild(el('p', 'check-suggestion', '建议 Suggested: ' + v.suggestion)); }
      list.appendChild(item);
    });
    resultBox.appendChild(list);
  }

  function drawOverlay(answer) {
    var outer = null;
    answer.buffers.forEach(function (b) {
      var layer = L.geoJSON(b.geometry, { pane: 'check', interactive: false,
        className: 'check-buffer check-buffer-' + Math.round(b.distance_m),
        style: { color: '#1d3557', weight: 1.5, dashArray: '6 4', fill: true, fillOpacity: 0.05 } });
      overlay.addLayer(layer);
      outer = layer;
    });
    answer.places.forEach(function (p) {
      overlay.addLayer(L.geoJSON(p.geometry, {
        pane: 'check', interactive: false, className: 'check-near',
        style: { color: '#d00000', weight: 3, fill: false },
        pointToLayer: function (f, latlng) {
          return L.circleMarker(latlng, { pane: 'check', className: 'check-near', radius: 9, color: '#d00000', weight: 3, fill: false });
        }
      }));
    });
    answer.lines.forEach(function (line) {
      var coords = line.geometry.coordinates;
      var latlngs = coords.map(function (c) { return [c[1], c[0]]; });
      overlay.addLayer(L.polyline(latlngs, { pane: 'check', className: 'check-line', color: '#d00000', weight: 3 }));
      // the label at the place's end of the line (short lines would hide a label at their middle)
      var c = categories[line.category] || [line.category, ''];
      var end = latlngs[latlngs.length - 1];
      var a = map.latLngToLayerPoint(latlngs[0]);
      var b = map.latLngToLayerPoint(end);
      var direction = Math.abs(b.x - a.x) >= Math.abs(b.y - a.y) ? (b.x < a.x ? 'left' : 'right')
                                                                  : (b.y < a.y ? 'top' : 'bottom');
      overlay.addLayer(L.tooltip({ permanent: true, direction: direction, className: 'check-line-label',
                                   pane: 'tooltipPane' })
        .setLatLng(end).setContent(tip(line.distance_m.toFixed(1) + ' m', c[0] + ' ' + line.name)));
    });
    if (outer) { map.fitBounds(outer.getBounds(), { maxZoom: 18, padding: [20, 20] }); }
  }

  function run() {
    if (!site) {
      statusText.textContent = '请先在地图上选择位置 Choose a site on the map first';
      return Promise.resolve();
    }
    var body = { geometry: site.geometry, properties: properties() };
    if (site.site_id) { body.site_id = site.site_id; }
    var ticket = ++asked;
    checked = null;  // nothing is saved while a check is under way (it would be the site before)
    if (saveBox) { saveBox.hidden = true; }
    statusText.textContent = '检查中… Checking…';
    statusText.className = '';
    document.body.setAttribute('data-checked', 'pending');
    return post(config.urls.check, body).then(function (answer) {
      if (ticket !== asked) { return; }  // a later check (another click) answers for the site now chosen
      clearResult();
      if (answer.status !== 200 || !answer.body || !answer.body.result) {
        statusText.textContent = failed(answer);
        statusText.className = 'check-error';
        checked = null;
        document.body.setAttribute('data-checked', String(answer.status));
        return;
      }
      checked = { body: body, answer: answer.body };
      saved = false;
      statusText.textContent = '';
      // a new site's district is the map's, unless the planner chose one in the list (a pilot keeps its own)
      if (inputs.district && !body.site_id && (districtAuto || !inputs.district.input.value)) {
        inputs.district.input.value = answer.body.site.district || '';
        districtAuto = true;
      }
      showResult(answer.body);
      drawOverlay(answer.body);
      offerSave();
      // the verdicts at once: the permit folds to its one line, and the panel (a phone: the page) shows them
      summarise();
      permit.open = false;
      reveal();
      document.body.setAttribute('data-checked', '200');
    });
  }

  function reveal() {
    var box = permit.getBoundingClientRect();
    var panel = permit.parentNode.getBoundingClientRect();
    var head = resultBox.querySelector('.check-overall') || resultBox;
    var bottom = Math.min(window.innerHeight, panel.bottom);
    if (box.top < Math.max(0, panel.top) || head.getBoundingClientRect().bottom > bottom) {
      siteText.scrollIntoView({ block: 'start' });
    }
  }

  // what a checked site offers: an existing pilot is already on the map (not saved again); a new site may be
  // saved once per check
  function offerSave() {
    if (!saveBox || !checked) { return; }
    if (checked.body.site_id) {
      saveBox.hidden = true;
      existingNote.hidden = false;
      existingNote.textContent = '这是现有试点（' + checked.body.site_id + '），无需另存；修改它请用图层编辑 · This is an existing ' +
        'pilot (' + checked.body.site_id + '): it is not saved again. To change it, edit the layer.';
      return;
    }
    existingNote.hidden = true;
    saveBox.hidden = false;
    saveButton.disabled = saved;
    if (!saved) { savedText.textContent = ''; }
  }

  form.addEventListener('submit', function (e) { e.preventDefault(); run(); });
  // what is saved is what was checked: a change to a field the rules read (the hours, a number) asks for a
  // new check before saving; a name, operator, district or source does not change the verdict
  form.addEventListener('input', function (e) {
    var entry = inputs[e.target.name];
    var read = entry && (entry.field.name === 'opening_hours' || entry.field.input === 'hours' ||
                         entry.field.input === 'number' || entry.field.input === 'integer');  // (the season too)
    if (!read || !checked) { return; }
    if (saveBox) { saveBox.hidden = true; }
    statusText.textContent = '表单已修改，请重新检查' + (saveBox && !checked.body.site_id && !saved ? '后再保存' : '') +
      '（下方结果按检查时的值）· The form changed: check again' + (saveBox && !checked.body.site_id && !saved ? ' before saving' : '') +
      ' (the verdicts below are for the values checked)';
  });
  // Leaflet.draw's finishing words here: a drawing is checked at once, and saved only by the button below
  L.drawLocal.draw.toolbar.finish = { text: '完成 Done', title: '结束绘制并检查 Finish the drawing and check it' };

  // --- save as a proposed pilot ----------------------------------------------------------------------------
  function layerName() {
    var kind = config.kinds[SAVE_LAYER];
    return kind ? '「' + kind.zh + '」' + ' · ' + kind.en : '规划外摆点 · proposed pilots';
  }

  function save() {
    if (!checked || saved || checked.body.site_id) { return Promise.resolve(); }
    var props = properties();
    if (inputs.source && !props.source) {
      savedText.textContent = '请先选择数据来源 · Choose the source (数据来源) first: nothing was sent';
      inputs.source.input.focus();
      return Promise.resolve();
    }
    var body = { geometry: checked.body.geometry, properties: props };
    if (checked.body.site_id) { body.site_id = checked.body.site_id; }
    var answer = checked.answer;
    var c = answer.site.point.coordinates;
    var known = answer.data && typeof answer.data[SAVE_LAYER] === 'number';
    var next = known ? answer.data[SAVE_LAYER] + 1 : null;
    var names = layerName().split(' · ');
    var question = '将在' + names[0] + '图层新增 1 个要素（' + (known ? '第 ' + next + ' 版，' : '新的一版，') +
      '状态：规划中）· This adds 1 new feature to ' + names[1] + ' (' + (known ? 'version ' + next : 'a new version') +
      ', status planned):\n' +
      (props.name || '（未命名 no name）') + ' @ ' + c[1].toFixed(5) + ', ' + c[0].toFixed(5) +
      (answer.site.type !== 'Point' ? '（画的范围存为中心点，面积 ' + answer.site.area_m2 + ' m² · the drawn area is saved as its point, ' +
        answer.site.area_m2 + ' m²）' : '') +
      '\n检查结果 Verdict: ' + answer.overall.zh + ' ' + answer.overall.en + '，规则第 ' + answer.ruleset.version + ' 版 ruleset version ' +
      answer.ruleset.version + '\n不修改、不删除现有要素；可在历史中回退 · Nothing existing is changed or removed; undo by a rollback in the history.';
    var same = Object.keys(pilots).filter(function (id) { return props.name && String(pilots[id].properties.name) === props.name; });
    if (same.length) {  // (a pilot picked, then a new site: the permit, its name too, stays in the form)
      question += '\n注意：现有试点 ' + same.join(', ') + ' 同名 · Note: the existing pilot ' + same.join(', ') + ' has the same name.';
    }
    if (!window.confirm(question)) {
      savedText.textContent = '未保存 Not saved: nothing was sent';
      return Promise.resolve();
    }
    saveButton.disabled = true;
    savedText.textContent = '保存中… Saving…';
    return post(config.urls.save, body).then(function (reply) {
      savedText.textContent = '';
      if (reply.status === 200 && reply.body && typeof reply.body.version === 'number') {
        saved = true;  // once: the button waits for the next check
        savedText.appendChild(document.createTextNode('已保存为第 ' + reply.body.version + ' 版（' + reply.body.id + '）· Saved as version ' +
          reply.body.version + ' (' + reply.body.id + '). 再次保存前请重新检查 · Check again to save another site. '));
        if (reply.body.history) {
          var link = el('a', null, '历史 History');
          link.href = reply.body.history;
          savedText.appendChild(link);
        }
      } else {
        savedText.textContent = failed(reply);
        ((reply.body && reply.body.problems) || []).forEach(function (p) {
          savedText.appendChild(el('span', 'check-problem', ' ' + p.message));
        });
      }
      document.body.setAttribute('data-saved', String(reply.status));
    }).then(function () { saveButton.disabled = saved; });
  }

  if (saveButton) { saveButton.addEventListener('click', save); }
  window.PlanningCheck = { run: run, pick: pick, save: save };
}());
