import { CaretflowError } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { contentTypeFor, safeArtifactPath } from "./artifact.path.ts";

describe("safeArtifactPath", () => {
  it.each(["plots/confusion_matrix.png", "model/MLmodel", "a%20b.txt", "deep/er/file.json"])("accepts %s", (p) => {
    expect(safeArtifactPath(p)).toBe(decodeURIComponent(p));
  });
  it.each([
    "../secret",
    "plots/../../x",
    "%2e%2e/x",
    "/etc/passwd",
    "%2Fetc%2Fpasswd",
    "C:/windows",
    "a\\..\\b",
    "a//b",
    "./a",
    "file:///etc/passwd",
    "s3://bucket/x",
    "a%00b",
    "%E0%A4%A",
    "",
  ])("refuses %s", (p) => {
    expect(() => safeArtifactPath(p)).toThrow(CaretflowError);
  });
  it("types images for inline display and the rest for download", () => {
    expect(contentTypeFor("plots/roc.PNG")).toBe("image/png");
    expect(contentTypeFor("model/model.pkl")).toBe("application/octet-stream");
  });
});
