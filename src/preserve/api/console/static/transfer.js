// The hand transfer (templates/transfer.html): each file is sent as a resumable upload in
// chunks, resumed from the archive's offset after a failed chunk (and after a reload: the
// upload's address is kept per file in localStorage), then the metadata and the uploads are
// posted as one SIP, and the SIP's page is opened. Same origin, the session's cookie, and the
// session's CSRF token in the X-CSRF-Token header. No outside code.
(function () {
  "use strict";
  var form = document.getElementById("transfer");
  if (!form) { return; }
  var bar = document.getElementById("progress");
  var text = document.getElementById("progress-text");
  var error = document.getElementById("transfer-error");
  var csrf = form.elements.csrf_token.value;
  var chunk = parseInt(form.dataset.chunk, 10);
  var RETRIES = 5;

  function headers(more) {
    var h = { "X-CSRF-Token": csrf };
    Object.keys(more || {}).forEach(function (k) { h[k] = more[k]; });
    return h;
  }

  function keyOf(file) {
    return "preserve-upload:" + file.name + ":" + file.size + ":" + file.lastModified;
  }

  async function offsetOf(location) {
    var answer = await fetch(location, { headers: headers(), credentials: "same-origin" });
    if (!answer.ok) { return null; }
    return parseInt(answer.headers.get("Upload-Offset"), 10);
  }

  async function create(file) {
    var kept = window.localStorage.getItem(keyOf(file));
    if (kept) {
      var offset = await offsetOf(kept);
      if (offset !== null) { return { location: kept, offset: offset }; }
      window.localStorage.removeItem(keyOf(file));
    }
    var answer = await fetch(form.dataset.uploads, {
      method: "POST",
      credentials: "same-origin",
      headers: headers({ "Upload-Length": String(file.size) })
    });
    if (answer.status !== 201) { throw new Error(file.name + ": " + answer.status); }
    var location = answer.headers.get("Location");
    window.localStorage.setItem(keyOf(file), location);
    return { location: location, offset: 0 };
  }

  async function send(file, upload, done, total) {
    var offset = upload.offset;
    var failures = 0;
    while (offset < file.size) {
      var end = Math.min(offset + chunk, file.size);
      var answer = null;
      try {
        answer = await fetch(upload.location, {
          method: "PATCH",
          credentials: "same-origin",
          headers: headers({
            "Upload-Offset": String(offset),
            "Content-Type": "application/offset+octet-stream"
          }),
          body: file.slice(offset, end)
        });
      } catch (e) { answer = null; }
      if (answer !== null && answer.status === 204) {
        offset = parseInt(answer.headers.get("Upload-Offset"), 10);
        show(done + offset, total, file.name);
        continue;
      }
      failures += 1;
      if (failures > RETRIES) { throw new Error(file.name + ": " + (answer ? answer.status : "network")); }
      var known = await offsetOf(upload.location);
      if (known !== null) { offset = known; }
    }
  }

  function show(sent, total, name) {
    var share = total ? Math.floor(sent * 100 / total) : 100;
    bar.value = share;
    text.textContent = form.dataset.msgUploading + " " + name + " · " + share + "%";
  }

  function metadata() {
    var doc = {};
    Array.prototype.forEach.call(form.querySelectorAll("fieldset input[name], fieldset select[name]"), function (el) {
      if (el.type !== "file" && el.value.trim() !== "") { doc[el.name] = el.value.trim(); }
    });
    return doc;
  }

  function fail(message) {
    error.textContent = form.dataset.msgFailed + ": " + message;
    error.hidden = false;
    form.querySelector("button[type=submit]").disabled = false;
  }

  function newKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    error.hidden = true;
    var files = Array.prototype.slice.call(form.elements.files.files);
    if (!files.length) { fail(form.dataset.msgNofiles); return; }
    form.querySelector("button[type=submit]").disabled = true;
    var total = files.reduce(function (n, f) { return n + f.size; }, 0);
    var done = 0;
    var uploads = {};
    try {
      for (var i = 0; i < files.length; i += 1) {
        var file = files[i];
        var upload = await create(file);
        await send(file, upload, done, total);
        done += file.size;
        uploads[file.webkitRelativePath || file.name] = upload.location.split("/").pop();
      }
      text.textContent = form.dataset.msgSubmitting;
      form.dataset.key = form.dataset.key || newKey();
      var answer = await fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: headers({ "Content-Type": "application/json", "Idempotency-Key": form.dataset.key }),
        body: JSON.stringify({ metadata: metadata(), uploads: uploads })
      });
      var result = await answer.json();
      files.forEach(function (f) { window.localStorage.removeItem(keyOf(f)); });
      if (result.location) { window.location.assign(result.location); return; }
      delete form.dataset.key;  // refused: a corrected transfer is a new one
      fail((result.title || answer.status) + (result.detail ? ": " + result.detail : ""));
    } catch (e) {
      fail(e.message);
    }
  });
}());
