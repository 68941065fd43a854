// Point at (or click) a shard in the legend or the table to highlight its slots on the ring.
// Plain JavaScript, no build step; htmx swaps the live section, so listeners sit on the document.
(function () {
  let pinned = null;
  function highlight(shard) {
    document.querySelectorAll('.ring [data-shard], .legend[data-shard], tbody.shard[data-shard]').forEach(function (el) {
      el.classList.toggle('dim', shard !== null && el.dataset.shard !== shard);
      el.classList.toggle('hl', shard !== null && el.dataset.shard === shard);
    });
  }
  function shardAt(target) {
    const el = target.closest && target.closest('.legend[data-shard], tbody.shard[data-shard], .ring [data-shard]');
    return el ? el.dataset.shard : null;
  }
  document.addEventListener('mouseover', function (e) { if (pinned === null) highlight(shardAt(e.target)); });
  document.addEventListener('click', function (e) {
    const shard = shardAt(e.target);
    if (shard !== null) { pinned = pinned === shard ? null : shard; highlight(pinned); }
  });
  document.addEventListener('htmx:afterSwap', function () { highlight(pinned); });
})();
