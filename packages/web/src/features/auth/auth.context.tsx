import type { User } from "@caretflow/contracts";
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { useApi } from "../../api/context.tsx";

interface AuthState {
  /** undefined while the first /api/auth/me is in flight. */
  user: User | null | undefined;
  signIn: (username: string, password: string) => Promise<void>;
  signOut: () => Promise<void>;
  /** Any 401 lands here: the session expired or was revoked. */
  signedOut: () => void;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children, registerUnauthorized }: { children: ReactNode; registerUnauthorized: (fn: () => void) => void }) {
  const api = useApi();
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const signedOut = useCallback(() => setUser(null), []);

  useEffect(() => registerUnauthorized(signedOut), [registerUnauthorized, signedOut]);
  useEffect(() => {
    let live = true;
    api.me().then(
      (u) => live && setUser(u),
      () => live && setUser(null),
    );
    return () => {
      live = false;
    };
  }, [api]);

  const signIn = useCallback(
    async (username: string, password: string) => {
      setUser(await api.login(username, password));
    },
    [api],
  );
  const signOut = useCallback(async () => {
    try {
      await api.logout();
    } finally {
      setUser(null);
    }
  }, [api]);

  const value = useMemo(() => ({ user, signIn, signOut, signedOut }), [user, signIn, signOut, signedOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const a = useContext(AuthContext);
  if (!a) throw new Error("useAuth() outside <AuthProvider>");
  return a;
}
