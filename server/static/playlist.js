// Playlist editor: reorder entries by drag and drop (or the arrow buttons), add approved
// items from the picker, remove entries. The form posts content_id/duration_s in order.
(function () {
  const list = document.getElementById("entries");
  if (!list) return;
  const empty = document.getElementById("entries-empty");
  const template = document.getElementById("entry-template");
  const picker = document.getElementById("add-select");
  const addButton = document.getElementById("add-item");
  let dragged = null;

  function refresh() {
    if (empty) empty.hidden = list.children.length > 0;
  }

  function clearMarks() {
    list.querySelectorAll(".drop-before, .drop-after").forEach((el) => {
      el.classList.remove("drop-before", "drop-after");
    });
  }

  function entryOf(target) {
    return target && target.closest ? target.closest("li.entry") : null;
  }

  list.addEventListener("dragstart", (e) => {
    dragged = entryOf(e.target);
    if (!dragged) return;
    dragged.classList.add("dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", dragged.dataset.contentId || "");
  });

  list.addEventListener("dragover", (e) => {
    if (!dragged) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
    const over = entryOf(e.target);
    clearMarks();
    if (!over || over === dragged) return;
    const box = over.getBoundingClientRect();
    over.classList.add(e.clientY < box.top + box.height / 2 ? "drop-before" : "drop-after");
  });

  list.addEventListener("drop", (e) => {
    if (!dragged) return;
    e.preventDefault();
    const over = entryOf(e.target);
    if (over && over !== dragged) {
      const box = over.getBoundingClientRect();
      if (e.clientY < box.top + box.height / 2) list.insertBefore(dragged, over);
      else list.insertBefore(dragged, over.nextSibling);
    }
    clearMarks();
  });

  list.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    clearMarks();
  });

  list.addEventListener("click", (e) => {
    const button = e.target.closest("button");
    const entry = entryOf(e.target);
    if (!button || !entry) return;
    if (button.classList.contains("up") && entry.previousElementSibling) {
      list.insertBefore(entry, entry.previousElementSibling);
    } else if (button.classList.contains("down") && entry.nextElementSibling) {
      list.insertBefore(entry.nextElementSibling, entry);
    } else if (button.classList.contains("remove")) {
      entry.remove();
      refresh();
    }
  });

  if (addButton && picker && template) {
    addButton.addEventListener("click", () => {
      const option = picker.selectedOptions[0];
      if (!option) return;
      const entry = template.content.firstElementChild.cloneNode(true);
      entry.dataset.contentId = option.value;
      entry.querySelector(".title").textContent = option.dataset.title;
      entry.querySelector("input[name=content_id]").value = option.value;
      entry.querySelector("input[name=duration_s]").placeholder = option.dataset.seconds;
      const thumb = entry.querySelector("img.thumb");
      if (option.dataset.thumb) thumb.src = option.dataset.thumb;
      else thumb.remove();
      list.append(entry);
      refresh();
    });
  }
  refresh();
})();
