// Drag-and-drop uploads: each file is sent as the raw request body (streamed to disk on
// the server), with its own progress bar and its own answer. Once the bytes are sent the
// server still decodes and checks the file (in a worker process, up to a minute or two
// for a long clip): the row then says so, so long work looks long and not stuck.
(function () {
  const form = document.getElementById("upload-form");
  const input = document.getElementById("files");
  const zone = document.getElementById("dropzone");
  const list = document.getElementById("upload-list");
  // With the script each file goes as soon as it is chosen; the button is for no-script posts.
  document.getElementById("upload-submit").hidden = true;
  form.addEventListener("submit", (e) => e.preventDefault());

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
    li.className = "sending";
    const label = document.createElement("div");
    label.textContent = file.name;
    let bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    const status = document.createElement("small");
    status.className = "upload-status";
    status.textContent = "0%";
    li.append(label, bar, status);
    list.append(li);
    li.scrollIntoView({ block: "nearest" }); // a tall form must not hide the progress

    function processing() {
      if (!li.classList.contains("sending")) return;
      li.classList.replace("sending", "processing");
      bar.removeAttribute("value"); // an indeterminate bar: the server is working
      status.textContent = form.dataset.processing;
      status.setAttribute("aria-busy", "true");
    }

    // A bar made indeterminate does not draw its value again in Chromium: a fresh one does.
    function settle(value) {
      const fresh = document.createElement("progress");
      fresh.max = 100; fresh.value = value;
      bar.replaceWith(fresh);
      bar = fresh;
    }

    function failed(message) {
      li.classList.remove("sending", "processing");
      li.classList.add("failed");
      settle(0);
      status.removeAttribute("aria-busy");
      status.className = "upload-status error";
      status.setAttribute("role", "alert");
      status.textContent = form.dataset.failed + ": " + message;
    }

    const params = meta();
    params.set("title", file.name.replace(/\.[^.]+$/, "").slice(0, 120) || file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.url + "?" + params.toString());
    xhr.setRequestHeader("X-CSRFToken", form.dataset.csrf);
    xhr.setRequestHeader("X-Filename", encodeURIComponent(file.name));
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable || !li.classList.contains("sending")) return;
      const pct = Math.floor((100 * e.loaded) / e.total);
      bar.value = pct;
      status.textContent = pct + "%";
    };
    xhr.upload.onload = processing; // every byte sent; the answer comes after the checks
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 201) {
        li.classList.remove("sending", "processing");
        li.classList.add("done");
        settle(100);
        status.removeAttribute("aria-busy");
        status.textContent = "";
        const a = document.createElement("a");
        a.href = body.url; a.textContent = form.dataset.done;
        status.append(a);
      } else {
        failed((body.error && body.error.message) || xhr.status + " " + xhr.statusText);
      }
    };
    xhr.onerror = () => failed(form.dataset.network);
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
