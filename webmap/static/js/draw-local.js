/* Leaflet.draw's words for the layer editor, in Chinese first. Loaded after leaflet.draw.js and before the
   map script (folium's Draw control), because some handlers copy their hint text when they are created. */
(function () {
  'use strict';
  // Leaflet.draw's toolbar "Save"/"Cancel"/"Finish" end a drawing or editing step; they publish nothing.
  // (Its action buttons are built when a tool is picked, from L.drawLocal: set before any is.)
  var actions = L.drawLocal.edit.toolbar.actions;
  actions.save = { text: '完成 Done (not saved yet)',
                   title: '结束这一步；按“保存为新版本”才会发布 Finish this step; nothing is saved until you press 保存为新版本 Save as a new version' };
  actions.cancel = { text: '撤销 Undo this step', title: '撤销这一步的改动 Undo the changes of this step' };
  actions.clearAll = { text: '全部删除 Delete all (not saved yet)', title: '从地图上删除全部要素（保存前不会发布） Remove every feature from the map (not published until saved)' };
  L.drawLocal.draw.toolbar.actions = { text: '取消 Cancel', title: '取消绘制 Cancel drawing' };
  L.drawLocal.draw.toolbar.finish = { text: '完成 Done (not saved yet)', title: '结束绘制（保存前不会发布） Finish drawing (not saved until you press 保存为新版本)' };
  // the hints Leaflet.draw shows beside the cursor, in the words of the buttons above
  L.drawLocal.edit.handlers.edit.tooltip = {
    text: '拖动控制点或标记来修改要素 Drag handles or markers to edit features.',
    subtext: '点击“撤销”放弃这一步，点击“完成”结束这一步（仍未保存） Click 撤销 Undo to drop this step, 完成 Done to finish it (not saved yet).' };
  L.drawLocal.edit.handlers.remove.tooltip = { text: '点击要删除的要素（保存前不会发布） Click a feature to remove it (not published until saved).' };
  L.drawLocal.draw.handlers.marker.tooltip = { start: '在地图上点击放置标记 Click the map to place a marker.' };
  L.drawLocal.draw.handlers.polyline.tooltip = { start: '点击开始画线 Click to start drawing a line.',
    cont: '点击继续画线 Click to continue the line.', end: '点击最后一点结束 Click the last point to finish.' };
  L.drawLocal.draw.handlers.polygon.tooltip = { start: '点击开始画面 Click to start drawing a shape.',
    cont: '点击继续 Click to continue.', end: '点击第一点闭合 Click the first point to close the shape.' };
  L.drawLocal.draw.handlers.rectangle.tooltip = { start: '按住并拖动画矩形 Click and drag to draw a rectangle.' };
  L.drawLocal.draw.handlers.simpleshape.tooltip = { end: '松开鼠标结束 Release the mouse to finish.' };
}());
