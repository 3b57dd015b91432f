import { request, show } from "/web/api.js";

const inputs = [document.getElementById("image1"), document.getElementById("image2")];
const views = [document.getElementById("view1"), document.getElementById("view2")];
const predict = document.getElementById("predict");
const result = document.getElementById("result");
const message = document.getElementById("message");

inputs.forEach((input, i) => input.addEventListener("change", () => {
  const file = input.files[0];
  if (file) { views[i].src = URL.createObjectURL(file); views[i].hidden = false; }
  predict.disabled = !(inputs[0].files[0] && inputs[1].files[0]);
  result.textContent = "";
}));

predict.addEventListener("click", async () => {
  const body = new FormData();
  body.append("image1", inputs[0].files[0]);
  body.append("image2", inputs[1].files[0]);
  body.append("overlay", "1");
  predict.disabled = true;
  message.hidden = true;
  result.textContent = "Comparing…";
  try {
    const data = await request("POST", "/api/compare", body);
    [data.image1, data.image2].forEach((face, i) => {
      views[i].src = "data:image/png;base64," + face.overlay_png;
    });
    const verdict = data.match ? "Same person" : "Different people";
    result.innerHTML = "";
    const strong = document.createElement("strong");
    strong.className = data.match ? "ok" : "bad";
    strong.textContent = verdict;
    result.append(strong, ` · distance ${data.distance.toFixed(3)} (threshold ${data.threshold})`);
    result.dataset.distance = data.distance;
  } catch (error) {
    result.textContent = "";
    show(message, `${error.code}: ${error.message}`, false);
  } finally {
    predict.disabled = false;
  }
});
