// archa publish: a record's page viewer (OpenSeadragon, vendored in viewer/), level-0 IIIF
// services with relative ids so that the page works from the file system.
(function () {
  const data = JSON.parse(document.getElementById('sources').textContent);
  const links = Array.from(document.querySelectorAll('ol.pages a'));
  const start = Math.max(0, links.findIndex(a => a.getAttribute('href') === location.hash));
  const viewer = OpenSeadragon({id: 'viewer', prefixUrl: data.prefix, tileSources: data.sources,
    sequenceMode: true, initialPage: start, drawer: 'canvas', crossOriginPolicy: false,
    showNavigator: false, preserveViewport: false, visibilityRatio: 1, minZoomImageRatio: 0.8});
  const label = document.getElementById('label');
  function show(i) {
    links.forEach((a, j) => a.classList.toggle('on', j === i));
    if (links[i]) label.textContent = links[i].textContent + ' (' + (i + 1) + ' / ' + links.length + ')';
  }
  viewer.addHandler('page', e => { show(e.page); history.replaceState(null, '', links[e.page].getAttribute('href')); });
  links.forEach((a, i) => a.addEventListener('click', ev => { ev.preventDefault(); viewer.goToPage(i); }));
  const count = key => { document.body.dataset[key] = String(Number(document.body.dataset[key] || 0) + 1); };
  viewer.addHandler('tile-loaded', () => count('tilesLoaded'));
  viewer.addHandler('tile-load-failed', e => { count('tilesFailed');
    label.textContent = 'a part of this page could not be loaded: ' + e.message; });
  show(start);
})();
