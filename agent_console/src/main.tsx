import { render } from "preact";
import { App } from "./views/App";
import { model } from "./model";

model.start();
document.addEventListener("visibilitychange", () => {
  if (model.selectedId) model.markRead(model.selectedId);
});
render(<App />, document.getElementById("app")!);
