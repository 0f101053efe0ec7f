'use client';

/**
 * The 3D view of the model's latent space (three.js, no React in the hot path):
 *
 * - one THREE.Points for the cloud, its position and colour attributes Float32Arrays written in
 *   place when the cloud, the projection or the colouring changes (never per frame);
 * - the room's z (a white marker), each other member's probe (an avatar in their colour with a
 *   name label), bookmarks (gold markers), direction arrows from z, the version the history
 *   scrubber previews (a white wireframe ball), the interpolation path being
 *   set up, and the truncation shell (radius psi·E|z| around the prior's mean, PCA only);
 * - rendering on demand from one requestAnimationFrame loop that reads the store with
 *   getState() and allocates nothing; the figures for tests go to window.__latentroom.
 *
 * Interaction: orbit (drag), zoom (wheel), hover a point for its image, click a point to steer
 * the room there; in steer mode (or with Shift) dragging moves the room's z in the view plane,
 * back-projected through the PCA basis (z' = z + Pᵀ Δp, the rest of z kept), sent as throttled
 * `set` ops. Arrow keys move z along the first two components, PageUp/PageDown the third.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { lerp, slerp } from '@/lib/latent/vector';
import { latentImageUrl } from '@/lib/protocol/models';
import { entryAt } from '@/lib/stores/history';
import { useExplorer, useExplorerStore } from '@/components/providers/explorer-provider';
import { testHook } from '@/components/room/test-hook';
import { fillColors } from './colors';
import { pcaProjector, umapProjector, type Projector } from './projector';

/** Drag-steer ops at most this often (the server's budget is 60 ops/s; frames take longer). */
const STEER_INTERVAL_MS = 80;
/** Points of the interpolation path preview. */
const PATH_STEPS = 32;
/** Bookmark markers drawn at most. */
const MAX_MARKERS = 256;
/** Length of a direction arrow, in latent units along the direction. */
const ARROW_LATENT_LENGTH = 2;
/** Keyboard steering step, in scene units. */
const KEY_STEP = 0.12;
const BACKGROUND = 0x0e1220;

interface Avatar {
  group: THREE.Mesh;
  label: HTMLDivElement;
  target: Float32Array;
  /** Where its label was last put, in whole pixels (it moves only when that changes). */
  at: { x: number; y: number; shown: boolean };
}

function circleTexture(): THREE.Texture {
  const c = document.createElement('canvas');
  c.width = c.height = 64;
  const g = c.getContext('2d')!;
  g.beginPath();
  g.arc(32, 32, 28, 0, Math.PI * 2);
  g.fillStyle = '#fff';
  g.fill();
  const t = new THREE.CanvasTexture(c);
  t.colorSpace = THREE.SRGBColorSpace;
  return t;
}

/** True when WebGL is drawn by a software rasteriser (no GPU, or a blocklisted one). */
function softwareWebGL(): boolean {
  const gl = document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
  if (!gl) return false;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const name = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : '';
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return /swiftshader|llvmpipe|softpipe|software/i.test(name);
}

export function PointCloudView({ canSteer, modelId }: { canSteer: boolean; modelId: string }) {
  const store = useExplorerStore();
  const containerRef = useRef<HTMLDivElement>(null);
  const labelsRef = useRef<HTMLDivElement>(null);
  const cloud = useExplorer((s) => s.points.cloud);
  const projection = useExplorer((s) => s.projection);
  const umapPositions = useExplorer((s) => s.umap.positions);
  const colorBy = useExplorer((s) => s.colorBy);
  const hovered = useExplorer((s) => s.hovered);
  const psi = useExplorer((s) => s.room?.psi ?? 1);
  const classLabel = useExplorer((s) => s.room?.classLabel ?? null);
  const [steerMode, setSteerMode] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [tip, setTip] = useState<{ x: number; y: number } | null>(null);

  const projector = useMemo<Projector | undefined>(() => {
    if (!cloud) return undefined;
    return projection === 'umap' && umapPositions ? umapProjector(cloud, umapPositions) : pcaProjector(cloud);
  }, [cloud, projection, umapPositions]);

  // Live values the event handlers and the frame loop read (no re-subscription per render).
  const live = useRef({ projector, canSteer, steerMode, setTip });
  useEffect(() => {
    live.current = { projector, canSteer, steerMode, setTip };
  }, [projector, canSteer, steerMode]);

  /** The three.js side, built once. */
  const three = useRef<{
    renderer: THREE.WebGLRenderer;
    camera: THREE.PerspectiveCamera;
    controls: OrbitControls;
    points: THREE.Points;
    markers: THREE.Points;
    current: THREE.Mesh;
    shell: THREE.Mesh;
    path: THREE.Line;
    arrows: THREE.Group;
    scene: THREE.Scene;
    avatars: Map<string, Avatar>;
    invalidate(): void;
    /** Re-reads overlays (z, avatars, bookmarks, arrows, path, shell) from the store. */
    refreshOverlays(): void;
  } | null>(null);

  useEffect(() => {
    const container = containerRef.current;
    const labelsEl = labelsRef.current;
    if (!container || !labelsEl) return;
    const labels: HTMLDivElement = labelsEl;
    let renderer: THREE.WebGLRenderer;
    const software = softwareWebGL();
    try {
      // Multisampling costs a software rasteriser (no GPU: SwiftShader, llvmpipe) about as much as
      // the whole cloud (bench:scene); it keeps its look on a GPU, where it is nearly free.
      renderer = new THREE.WebGLRenderer({ antialias: !software });
    } catch (err) {
      queueMicrotask(() => setFailure(`The 3D view needs WebGL, which this browser could not start (${err instanceof Error ? err.message : String(err)}).`));
      return;
    }
    renderer.setPixelRatio(software ? 1 : Math.min(window.devicePixelRatio, 2));
    testHook().softwareRenderer = software;
    renderer.setClearColor(BACKGROUND);
    renderer.domElement.className = 'scene-canvas';
    container.prepend(renderer.domElement);

    const scene = new THREE.Scene();
    const camera = new THREE.PerspectiveCamera(50, 1, 0.01, 200);
    camera.position.set(2.6, 1.8, 3.6);
    const controls = new OrbitControls(camera, renderer.domElement);
    controls.enableDamping = true;
    controls.dampingFactor = 0.12;

    const sprite = circleTexture();
    const points = new THREE.Points(
      new THREE.BufferGeometry(),
      new THREE.PointsMaterial({ size: 0.075, vertexColors: true, map: sprite, alphaTest: 0.5, transparent: false, sizeAttenuation: true }),
    );
    points.frustumCulled = false;
    scene.add(points);

    const markerGeometry = new THREE.BufferGeometry();
    markerGeometry.setAttribute('position', new THREE.BufferAttribute(new Float32Array(MAX_MARKERS * 3), 3));
    markerGeometry.setDrawRange(0, 0);
    const markers = new THREE.Points(markerGeometry, new THREE.PointsMaterial({ size: 0.14, color: 0xffc53d, map: sprite, alphaTest: 0.5 }));
    markers.frustumCulled = false;
    scene.add(markers);

    const current = new THREE.Mesh(new THREE.SphereGeometry(0.07, 24, 16), new THREE.MeshBasicMaterial({ color: 0xffffff }));
    const halo = new THREE.Mesh(new THREE.RingGeometry(0.1, 0.125, 40), new THREE.MeshBasicMaterial({ color: 0xffffff, side: THREE.DoubleSide, transparent: true, opacity: 0.7 }));
    current.add(halo);
    current.visible = false;
    scene.add(current);

    // The past version the history scrubber previews: a hollow white ball beside the room's solid one.
    const past = new THREE.Mesh(new THREE.SphereGeometry(0.08, 12, 8), new THREE.MeshBasicMaterial({ color: 0xffffff, wireframe: true }));
    past.visible = false;
    scene.add(past);

    const shell = new THREE.Mesh(
      new THREE.SphereGeometry(1, 24, 12),
      new THREE.MeshBasicMaterial({ color: 0x8e84ff, wireframe: true, transparent: true, opacity: 0.06 }),
    );
    shell.visible = false;
    scene.add(shell);

    const pathGeometry = new THREE.BufferGeometry();
    pathGeometry.setAttribute('position', new THREE.BufferAttribute(new Float32Array((PATH_STEPS + 1) * 3), 3));
    const path = new THREE.Line(pathGeometry, new THREE.LineBasicMaterial({ color: 0x3cc9c5 }));
    path.visible = false;
    path.frustumCulled = false;
    scene.add(path);

    const arrows = new THREE.Group();
    scene.add(arrows);
    const avatars = new Map<string, Avatar>();
    /** The same avatars as an array, rebuilt with them: the frame loop iterates without allocating. */
    const avatarList: Avatar[] = [];

    let dirty = true;
    const invalidate = () => {
      dirty = true;
    };
    controls.addEventListener('change', invalidate);

    const tmp = new Float32Array(3);
    const tmp2 = new Float32Array(3);

    function refreshOverlays(): void {
      const st = store.getState();
      const p = live.current.projector;
      const room = st.room;
      if (!room || !p) {
        current.visible = false;
        past.visible = false;
        testHook().previewAt = null;
        invalidate();
        return;
      }
      p.project(room.z, tmp);
      current.position.set(tmp[0]!, tmp[1]!, tmp[2]!);
      current.visible = true;
      const cl = st.points.cloud;
      // Truncation shell: frames decode psi·z, so the prior's typical radius shrinks to psi·E|z|.
      if (p.kind === 'pca' && cl) {
        shell.visible = true;
        shell.position.set(p.origin[0]!, p.origin[1]!, p.origin[2]!);
        shell.scale.setScalar(Math.max(1e-3, room.psi * cl.header.meanNorm * p.scale));
      } else shell.visible = false;
      // Bookmarks.
      const pos = markerGeometry.getAttribute('position') as THREE.BufferAttribute;
      const n = Math.min(MAX_MARKERS, room.bookmarks.length);
      for (let i = 0; i < n; i++) {
        p.project(room.bookmarks[i]!.z, tmp);
        (pos.array as Float32Array).set(tmp, i * 3);
      }
      pos.needsUpdate = true;
      markerGeometry.setDrawRange(0, n);
      // Avatars of the other members who point.
      const hook = testHook();
      const seen = new Set<string>();
      for (const [memberId, ptr] of Object.entries(st.pointers)) {
        const member = room.members.find((m) => m.memberId === memberId);
        if (!member || memberId === room.memberId) continue;
        seen.add(memberId);
        let a = avatars.get(memberId);
        if (!a) {
          const mesh = new THREE.Mesh(new THREE.OctahedronGeometry(0.07), new THREE.MeshBasicMaterial({ color: member.color }));
          scene.add(mesh);
          const label = document.createElement('div');
          label.className = 'avatar-label';
          labels.append(label);
          a = { group: mesh, label, target: new Float32Array(3), at: { x: NaN, y: NaN, shown: true } };
          avatars.set(memberId, a);
        }
        a.label.textContent = member.name;
        a.label.style.setProperty('--member', member.color);
        (a.group.material as THREE.MeshBasicMaterial).color.set(member.color);
        if (ptr.probe && ptr.probe.length === room.latentDim) p.project(ptr.probe, a.target);
        else a.target.set([ptr.x, ptr.y, ptr.z ?? 0]);
        a.group.position.set(a.target[0]!, a.target[1]!, a.target[2]!);
        hook.probes[memberId] = [a.target[0]!, a.target[1]!, a.target[2]!];
      }
      for (const [id, a] of avatars) {
        if (seen.has(id)) continue;
        scene.remove(a.group);
        a.group.geometry.dispose();
        a.label.remove();
        avatars.delete(id);
        delete hook.probes[id];
      }
      avatarList.length = 0;
      for (const a of avatars.values()) avatarList.push(a);
      // Direction arrows from z (vectors where the server lists them).
      for (const child of [...arrows.children]) {
        arrows.remove(child);
        (child as THREE.ArrowHelper).dispose();
      }
      const vectors = st.overlays.directionVectors;
      room.directions.forEach((d, i) => {
        const v = vectors[d.id];
        if (!v || v.length !== room.latentDim) return;
        let norm = 0;
        for (const x of v) norm += x * x;
        norm = Math.sqrt(norm);
        if (!(norm > 0)) return;
        const end = room.z.map((x, j) => x + (ARROW_LATENT_LENGTH * v[j]!) / norm);
        p.project(end, tmp2);
        const dir = new THREE.Vector3(tmp2[0]! - tmp[0]!, tmp2[1]! - tmp[1]!, tmp2[2]! - tmp[2]!);
        const len = dir.length();
        if (len < 1e-4) return;
        const color = new THREE.Color().setHSL((i * 0.17) % 1, 0.75, 0.6);
        arrows.add(new THREE.ArrowHelper(dir.normalize(), current.position.clone(), len, color, Math.min(0.12, len * 0.3), 0.05));
      });
      // The version the history scrubber previews (its z from the loaded log).
      const previewed = st.historyPreview === null ? undefined : entryAt(st.history, st.historyPreview);
      if (previewed && previewed.z.length === room.latentDim) {
        p.project(previewed.z, tmp2);
        past.position.set(tmp2[0]!, tmp2[1]!, tmp2[2]!);
        past.visible = true;
        hook.previewAt = [tmp2[0]!, tmp2[1]!, tmp2[2]!];
      } else {
        past.visible = false;
        hook.previewAt = null;
      }
      // Interpolation path being set up.
      const pp = st.overlays.path;
      if (pp && pp.from.length === room.latentDim && pp.to.length === room.latentDim) {
        const arr = pathGeometry.getAttribute('position') as THREE.BufferAttribute;
        for (let i = 0; i <= PATH_STEPS; i++) {
          const zt = pp.mode === 'slerp' ? slerp(pp.from, pp.to, i / PATH_STEPS) : lerp(pp.from, pp.to, i / PATH_STEPS);
          p.project(zt, tmp2);
          (arr.array as Float32Array).set(tmp2, i * 3);
        }
        arr.needsUpdate = true;
        path.visible = true;
      } else path.visible = false;
      hook.current = [current.position.x, current.position.y, current.position.z];
      invalidate();
    }

    three.current = { renderer, camera, controls, points, markers, current, shell, path, arrows, scene, avatars, invalidate, refreshOverlays };

    // Overlays follow the store; the cloud's own buffers are handled by the effect below.
    const unsubscribe = store.subscribe((s, prev) => {
      if (s.room !== prev.room || s.pointers !== prev.pointers || s.overlays !== prev.overlays || s.historyPreview !== prev.historyPreview || s.history !== prev.history) refreshOverlays();
    });

    const resize = () => {
      const w = container.clientWidth;
      const h = container.clientHeight;
      if (w === 0 || h === 0) return;
      renderer.setSize(w, h, false);
      camera.aspect = w / h;
      camera.updateProjectionMatrix();
      invalidate();
    };
    const observer = new ResizeObserver(resize);
    observer.observe(container);
    resize();

    // Hover picking and pointer presence.
    const raycaster = new THREE.Raycaster();
    raycaster.params.Points = { threshold: 0.035 };
    const ndc = new THREE.Vector2();
    const hits: THREE.Intersection[] = [];
    const plane = new THREE.Plane();
    const hit = new THREE.Vector3();
    const normal = new THREE.Vector3();
    let pickPending = false;
    let downAt: { x: number; y: number } | null = null;
    let drag: { z: number[]; lastSent: number; timer: ReturnType<typeof setTimeout> | undefined; pending: number[] | undefined } | null = null;

    function planeHit(): THREE.Vector3 | null {
      camera.getWorldDirection(normal);
      plane.setFromNormalAndCoplanarPoint(normal, current.visible ? current.position : new THREE.Vector3());
      raycaster.setFromCamera(ndc, camera);
      return raycaster.ray.intersectPlane(plane, hit);
    }

    function sendSteer(z: number[]): void {
      if (!drag) return;
      drag.pending = z;
      const wait = drag.lastSent + STEER_INTERVAL_MS - performance.now();
      const flush = () => {
        if (!drag?.pending) return;
        void store.getState().steer({ kind: 'set', z: drag.pending });
        drag.pending = undefined;
        drag.lastSent = performance.now();
        drag.timer = undefined;
      };
      if (wait <= 0 && !drag.timer) flush();
      else drag.timer ??= setTimeout(flush, Math.max(0, wait));
    }

    const onMove = (e: PointerEvent) => {
      const rect = renderer.domElement.getBoundingClientRect();
      ndc.set(((e.clientX - rect.left) / rect.width) * 2 - 1, -((e.clientY - rect.top) / rect.height) * 2 + 1);
      pickPending = true;
      live.current.setTip({ x: e.clientX - rect.left, y: e.clientY - rect.top });
      const st = store.getState();
      const p = live.current.projector;
      const at = planeHit();
      if (drag && at && p?.backProject) {
        sendSteer(p.backProject(drag.z, [at.x, at.y, at.z]));
        return;
      }
      if (at && st.room) {
        const probe = p?.backProject ? p.backProject(st.room.z, [at.x, at.y, at.z]) : undefined;
        st.point({ x: at.x, y: at.y, z: at.z, ...(probe ? { probe } : {}) });
      }
    };
    const onDown = (e: PointerEvent) => {
      downAt = { x: e.clientX, y: e.clientY };
      const st = store.getState();
      const { canSteer: may, steerMode: steering, projector: p } = live.current;
      if (e.button === 0 && may && (steering || e.shiftKey) && st.room && p?.backProject) {
        controls.enabled = false;
        drag = { z: [...st.room.z], lastSent: -Infinity, timer: undefined, pending: undefined };
        renderer.domElement.setPointerCapture(e.pointerId);
      }
    };
    const onUp = (e: PointerEvent) => {
      if (drag) {
        const d = drag;
        if (d.timer) clearTimeout(d.timer);
        if (d.pending) void store.getState().steer({ kind: 'set', z: d.pending });
        drag = null;
        controls.enabled = true;
        return;
      }
      const moved = downAt ? Math.hypot(e.clientX - downAt.x, e.clientY - downAt.y) : Infinity;
      downAt = null;
      const st = store.getState();
      const i = st.hovered;
      const cl = st.points.cloud;
      if (moved < 5 && e.button === 0 && i !== null && cl && live.current.canSteer) {
        const dim = cl.header.latentDim;
        void st.steer({ kind: 'set', z: Array.from(cl.latents.subarray(i * dim, (i + 1) * dim)) });
      }
    };
    const onLeave = () => {
      store.getState().setHovered(null);
      live.current.setTip(null);
    };
    const onKey = (e: KeyboardEvent) => {
      const st = store.getState();
      const p = live.current.projector;
      if (!live.current.canSteer || !st.room || !p?.backProject) return;
      const delta = { ArrowRight: [KEY_STEP, 0, 0], ArrowLeft: [-KEY_STEP, 0, 0], ArrowUp: [0, KEY_STEP, 0], ArrowDown: [0, -KEY_STEP, 0], PageUp: [0, 0, KEY_STEP], PageDown: [0, 0, -KEY_STEP] }[e.key];
      if (!delta) return;
      e.preventDefault();
      p.project(st.room.z, tmp);
      void st.steer({ kind: 'set', z: p.backProject(st.room.z, [tmp[0]! + delta[0]!, tmp[1]! + delta[1]!, tmp[2]! + delta[2]!]) });
    };
    renderer.domElement.addEventListener('pointermove', onMove);
    renderer.domElement.addEventListener('pointerdown', onDown);
    renderer.domElement.addEventListener('pointerup', onUp);
    renderer.domElement.addEventListener('pointerleave', onLeave);
    container.addEventListener('keydown', onKey);

    const labelPos = new THREE.Vector3();
    let raf = 0;
    const loop = () => {
      raf = requestAnimationFrame(loop);
      if (controls.update()) dirty = true;
      if (pickPending) {
        pickPending = false;
        hits.length = 0;
        raycaster.setFromCamera(ndc, camera);
        if (points.geometry.drawRange.count > 0) raycaster.intersectObject(points, false, hits);
        store.getState().setHovered(hits[0]?.index ?? null);
      }
      if (!dirty) return;
      dirty = false;
      halo.lookAt(camera.position);
      renderer.render(scene, camera);
      const hook = testHook();
      hook.renderedFrames += 1;
      hook.drawCalls = renderer.info.render.calls;
      hook.pointCount = points.geometry.drawRange.count === Infinity ? 0 : points.geometry.drawRange.count;
      hook.markerCount = markers.visible ? markerGeometry.drawRange.count : 0;
      const w = container.clientWidth;
      const h = container.clientHeight;
      for (let i = 0; i < avatarList.length; i++) {
        const a = avatarList[i]!;
        labelPos.copy(a.group.position).project(camera);
        const visible = labelPos.z < 1;
        if (visible !== a.at.shown) {
          a.at.shown = visible;
          a.label.style.display = visible ? '' : 'none';
        }
        const x = Math.round(((labelPos.x + 1) / 2) * w);
        const y = Math.round(((1 - labelPos.y) / 2) * h);
        if (visible && (x !== a.at.x || y !== a.at.y)) {
          a.at.x = x;
          a.at.y = y;
          a.label.style.transform = `translate(${x}px, ${y}px)`;
        }
      }
    };
    raf = requestAnimationFrame(loop);

    return () => {
      cancelAnimationFrame(raf);
      unsubscribe();
      observer.disconnect();
      renderer.domElement.removeEventListener('pointermove', onMove);
      renderer.domElement.removeEventListener('pointerdown', onDown);
      renderer.domElement.removeEventListener('pointerup', onUp);
      renderer.domElement.removeEventListener('pointerleave', onLeave);
      container.removeEventListener('keydown', onKey);
      controls.dispose();
      scene.traverse((o) => {
        if (o instanceof THREE.Mesh || o instanceof THREE.Points || o instanceof THREE.Line) {
          o.geometry.dispose();
          (o.material as THREE.Material).dispose();
        }
      });
      sprite.dispose();
      for (const a of avatars.values()) a.label.remove();
      renderer.dispose();
      renderer.domElement.remove();
      three.current = null;
    };
  }, [store]);

  // The cloud's buffers: allocated once per cloud, rewritten in place when the projection or colouring changes.
  useEffect(() => {
    const t = three.current;
    if (!t) return;
    const geometry = t.points.geometry;
    if (!cloud || !projector) {
      geometry.setDrawRange(0, 0);
      t.invalidate();
      return;
    }
    const count = cloud.header.count;
    let position = geometry.getAttribute('position') as THREE.BufferAttribute | undefined;
    let color = geometry.getAttribute('color') as THREE.BufferAttribute | undefined;
    if (!position || position.count !== count) {
      position = new THREE.BufferAttribute(new Float32Array(count * 3), 3);
      color = new THREE.BufferAttribute(new Float32Array(count * 3), 3);
      geometry.setAttribute('position', position);
      geometry.setAttribute('color', color);
    }
    (position.array as Float32Array).set(projector.positions);
    position.needsUpdate = true;
    fillColors(cloud, colorBy, color!.array as Float32Array);
    color!.needsUpdate = true;
    geometry.setDrawRange(0, count);
    geometry.computeBoundingSphere();
    testHook().projection = projector.kind;
    t.refreshOverlays();
  }, [cloud, projector, colorBy]);

  const hoveredLatent = hovered !== null && cloud ? Array.from(cloud.latents.subarray(hovered * cloud.header.latentDim, (hovered + 1) * cloud.header.latentDim)) : null;
  const hoveredLabel = hovered !== null && cloud?.labels && cloud.header.labels ? cloud.header.labels.names[cloud.labels[hovered]!] : undefined;

  return (
    <div className="scene">
      <div
        ref={containerRef}
        className="scene-stage"
        tabIndex={0}
        role="application"
        aria-label={
          canSteer
            ? '3D view of the latent space. Drag to turn, scroll to zoom, click a point to move the room there. Arrow keys move the room along the first two principal components, Page Up and Page Down along the third.'
            : '3D view of the latent space. Drag to turn, scroll to zoom.'
        }
        data-testid="scene"
      >
        <div ref={labelsRef} className="scene-labels" aria-hidden="true" />
        {hoveredLatent && tip && (
          <div className="scene-tip" style={{ transform: `translate(${tip.x + 14}px, ${tip.y + 14}px)` }} role="tooltip">
            {/* A decoded latent from the image endpoint (cached by the browser). */}
            <img src={latentImageUrl(modelId, hoveredLatent, 1, classLabel)} alt={`image of point ${hovered}`} width={72} height={72} />
            <span>
              #{hovered}
              {hoveredLabel !== undefined && ` · class ${hoveredLabel}`}
            </span>
          </div>
        )}
        {failure && <p className="scene-failure">{failure}</p>}
      </div>
      <div className="scene-toolbar">
        <button
          type="button"
          className={`chip ${steerMode ? 'chip-on' : ''}`}
          aria-pressed={steerMode}
          disabled={!canSteer || projection !== 'pca'}
          onClick={() => setSteerMode((s) => !s)}
          title={projection !== 'pca' ? 'Dragging steers through the PCA basis: switch to PCA' : 'Drag in the view to move the room (or hold Shift)'}
        >
          Steer by dragging
        </button>
        <span className="muted small">psi {psi.toFixed(2)}: shell radius psi·E|z|</span>
      </div>
    </div>
  );
}
