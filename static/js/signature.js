/*
 * Clinical forms: draw a signature besides typing your name (progressive enhancement).
 * Without JavaScript the pad stays hidden and the typed name signs alone. With it, the strokes go in the
 * hidden field "signature_drawing" as JSON [[[x, y], ...], ...] on a 600 x 200 pad; the server checks,
 * stores and redraws them (clinical_forms/signature.py). Uses the vendored signature_pad (MIT).
 */
(function () {
  "use strict";
  var PAD_WIDTH = 600, PAD_HEIGHT = 200;
  var box = document.querySelector("[data-signature-pad]");
  var field = document.querySelector('input[name="signature_drawing"]');
  if (!box || !field || typeof window.SignaturePad !== "function") {
    return;
  }
  var canvas = box.querySelector("canvas");
  var form = field.form;
  box.hidden = false;
  var pad = new window.SignaturePad(canvas, { minWidth: 0.8, maxWidth: 2.5 });

  function fit() {
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    var kept = pad.toData();
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    pad.clear();
    if (kept.length) {
      pad.fromData(kept);
    }
  }

  function clamp(value, top) {
    return Math.min(Math.max(value, 0), top);
  }

  function strokes() {
    var sx = PAD_WIDTH / (canvas.offsetWidth || PAD_WIDTH);
    var sy = PAD_HEIGHT / (canvas.offsetHeight || PAD_HEIGHT);
    return pad.toData().map(function (group) {
      return group.points.map(function (p) {
        return [Math.round(clamp(p.x * sx, PAD_WIDTH) * 10) / 10, Math.round(clamp(p.y * sy, PAD_HEIGHT) * 10) / 10];
      });
    }).filter(function (stroke) { return stroke.length > 0; });
  }

  window.addEventListener("resize", fit);
  fit();
  box.querySelector("[data-signature-clear]").addEventListener("click", function () {
    pad.clear();
    field.value = "";
  });
  form.addEventListener("submit", function () {
    field.value = pad.isEmpty() ? "" : JSON.stringify(strokes());
  });
})();
