// The student's join page: consent, camera, WebRTC to the server, challenge prompts, result.
const token = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop());
const api = (path) => `/api/join/${encodeURIComponent(token)}${path}`;
const $ = (id) => document.getElementById(id);

let pc = null;
let channel = null;
let stream = null;
// The server says what the analysis needs; more pixels or frames would only cost its CPU.
let camera = { width: 640, height: 480, frame_rate: 15 };

async function loadInfo() {
  const response = await fetch(api(""));
  const data = await response.json();
  if (!response.ok) throw new Error(data.error ? data.error.message : response.statusText);
  $("session-name").textContent = data.session.name;
  $("greeting").textContent = `Identity check for ${data.student.name}`;
  if (data.camera) camera = data.camera;
  return data;
}

function showStatus(message) {
  document.body.dataset.state = message.state;
  $("prompt").textContent = message.prompt || "";
  $("detail").textContent = message.state === "retrying" ? `Attempt ${message.attempt + 1} of ${message.attempts} starts in a moment` : "";
  const steps = $("steps");
  steps.replaceChildren();
  const done = (message.completed || []).length;
  const current = message.state === "prompting" ? message.step - 1 : -1;
  for (let i = 0; i < (message.steps || 0); i++) {
    const span = document.createElement("span");
    if (i < done) span.className = "done";
    else if (i === current) span.className = "current";
    steps.append(span);
  }
  // The bar runs down here, not by a message per tick: the server sends the time left when
  // something changes and once a second, and every message it saves is CPU for analysis.
  const fraction = message.time_limit ? Math.max(0, message.remaining / message.time_limit) : 0;
  const bar = $("timer-bar");
  bar.style.transition = "none";
  bar.style.width = `${Math.round(fraction * 100)}%`;
  if (fraction > 0) {
    void bar.offsetWidth; // apply the width before the transition starts
    bar.style.transition = `width ${message.remaining}s linear`;
    bar.style.width = "0%";
  }
}

function showResult(message) {
  const box = $("result");
  box.hidden = false;
  box.className = "result-box " + (message.verified ? "ok" : "bad");
  $("result-text").textContent = message.verified
    ? "Verified. You may start your exam; keep this tab open."
    : `Not verified: ${message.reason}`;
  $("retry").hidden = message.verified || !message.can_retry;
  document.body.dataset.result = message.verified ? "verified" : "failed";
}

function onMessage(event) {
  const message = JSON.parse(event.data);
  if (message.type === "status") showStatus(message);
  if (message.type === "result") showResult(message);
}

function send(message) {
  if (channel && channel.readyState === "open") channel.send(JSON.stringify(message));
}

async function waitForIce(connection) {
  if (connection.iceGatheringState === "complete") return;
  await new Promise((resolve) => {
    const check = () => {
      if (connection.iceGatheringState === "complete") {
        connection.removeEventListener("icegatheringstatechange", check);
        resolve();
      }
    };
    connection.addEventListener("icegatheringstatechange", check);
    setTimeout(resolve, 3000);  // host candidates are enough on a LAN
  });
}

async function connect() {
  pc = new RTCPeerConnection();
  stream.getVideoTracks().forEach((track) => pc.addTrack(track, stream));
  channel = pc.createDataChannel("control");
  channel.onmessage = onMessage;
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === "failed" || pc.connectionState === "disconnected") {
      $("detail").textContent = "Connection lost: reconnecting…";
      setTimeout(reconnect, 1500);
    }
  };
  await pc.setLocalDescription(await pc.createOffer());
  await waitForIce(pc);
  const response = await fetch(api("/offer"), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type }),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error ? answer.error.message : response.statusText);
  await pc.setRemoteDescription(answer);
}

async function reconnect() {
  if (pc && pc.connectionState === "connected") return;
  if (pc) pc.close();
  try { await connect(); } catch (error) { $("detail").textContent = error.message; }
}

async function start() {
  $("start").disabled = true;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: {
        width: { ideal: camera.width },
        height: { ideal: camera.height },
        frameRate: { ideal: camera.frame_rate, max: camera.frame_rate },
      },
      audio: false,
    });
    $("preview").srcObject = stream;
    $("notice").hidden = true;
    $("check").hidden = false;
    await connect();
  } catch (error) {
    $("notice-error").hidden = false;
    $("notice-error").textContent = error.name === "NotAllowedError"
      ? "The camera is needed for the identity check. Allow it in your browser and try again."
      : error.message;
    $("start").disabled = false;
  }
}

$("start").addEventListener("click", start);
$("retry").addEventListener("click", () => {
  $("result").hidden = true;
  send({ type: "retry" });
});
document.addEventListener("visibilitychange", () => send({ type: "visibility", state: document.visibilityState }));
window.addEventListener("blur", () => send({ type: "blur" }));
window.addEventListener("focus", () => send({ type: "focus" }));

loadInfo().catch((error) => {
  $("greeting").textContent = "This join link cannot be used";
  $("notice-error").hidden = false;
  $("notice-error").textContent = error.message;
  $("start").hidden = true;
});
