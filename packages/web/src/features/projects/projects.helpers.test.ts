import type { ProjectInfo } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { canManageMembers, pickProject } from "./projects.helpers.ts";

const p = (name: string, role: ProjectInfo["role"] = "viewer"): ProjectInfo => ({ name, role, description: null, createdAt: "" });

describe("pickProject", () => {
  it("keeps the remembered project while the person belongs to it", () => {
    expect(pickProject("churn", [p("default"), p("churn")])).toBe("churn");
  });
  it("falls back to default, then to the first project, when the remembered one is gone", () => {
    expect(pickProject("gone", [p("churn"), p("default")])).toBe("default");
    expect(pickProject("gone", [p("churn"), p("fraud")])).toBe("churn");
    expect(pickProject(null, [p("fraud")])).toBe("fraud");
  });
  it("is null for a person in no project", () => {
    expect(pickProject("default", [])).toBeNull();
  });
});

describe("canManageMembers", () => {
  it("lets owners and site admins manage members, nobody else", () => {
    expect(canManageMembers(p("a", "owner"), false)).toBe(true);
    expect(canManageMembers(p("a", "editor"), false)).toBe(false);
    expect(canManageMembers(p("a", null), true)).toBe(true);
    expect(canManageMembers(undefined, false)).toBe(false);
  });
});
