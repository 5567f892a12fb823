// Drag-and-drop uploads: each file is sent as the raw request body (streamed to disk on
// the server), with its own progress bar and its own answer.
(function () {
  const form = document.getElementById("upload-form");
  const input = document.getElementById("files");
  const zone = document.getElementById("dropzone");
  const list = document.getElementById("upload-list");

  function meta() {
    const params = new URLSearchParams();
    for (const name of ["topic_id", "community_id", "valid_from", "valid_until", "duration_s", "tags"]) {
      const el = form.elements[name];
      if (el && el.value) params.set(name, el.value);
    }
    return params;
  }

  function send(file) {
    const li = document.createElement("li");
    const label = document.createElement("div");
    label.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    const status = document.createElement("small");
    li.append(label, bar, status);
    list.append(li);

    const params = meta();
    params.set("title", file.name.replace(/\.[^.]+$/, "").slice(0, 120) || file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.url + "?" + params.toString());
    xhr.setRequestHeader("X-CSRFToken", form.dataset.csrf);
    xhr.setRequestHeader("X-Filename", encodeURIComponent(file.name));
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total; };
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 201) {
        bar.value = 100;
        const a = document.createElement("a");
        a.href = body.url; a.textContent = form.dataset.done;
        status.append(a);
        li.classList.add("done");
      } else {
        li.classList.add("failed");
        status.className = "error";
        status.textContent = form.dataset.failed + ": " +
          ((body.error && body.error.message) || xhr.status + " " + xhr.statusText);
      }
    };
    xhr.onerror = () => { li.classList.add("failed"); status.className = "error"; status.textContent = form.dataset.failed; };
    xhr.send(file);
  }

  input.addEventListener("change", () => { Array.from(input.files).forEach(send); input.value = ""; });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault(); zone.classList.remove("over");
    Array.from(e.dataTransfer.files).forEach(send);
  });
})();
