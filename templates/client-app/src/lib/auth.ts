import 'server-only';
import { isCodexApiError } from '@codex-metatron/sdk';
import type { NextAuthOptions } from 'next-auth';
import CredentialsProvider from 'next-auth/providers/credentials';
import { platformClient } from './platform';

/**
 * NextAuth with the platform as the identity provider: the Credentials
 * provider signs in through the gateway's auth routes. The platform's tokens
 * live in NextAuth's JWT, which NextAuth keeps encrypted (A256GCM) in an
 * httpOnly cookie; the session the browser sees holds the user alone.
 */
export const authOptions: NextAuthOptions = {
  // The cookie's key is NEXTAUTH_SECRET, which NextAuth reads itself when a request comes (not at build time).
  session: { strategy: 'jwt', maxAge: 30 * 24 * 60 * 60 },
  pages: { signIn: '/sign-in' },
  providers: [
    CredentialsProvider({
      name: 'Email and password',
      credentials: { email: { label: 'Email', type: 'email' }, password: { label: 'Password', type: 'password' } },
      async authorize(credentials) {
        if (!credentials?.email || !credentials.password) return null;
        try {
          const signedIn = await platformClient().signIn(credentials.email, credentials.password);
          return {
            id: signedIn.user.id,
            email: signedIn.user.email,
            name: signedIn.user.name || signedIn.user.email,
            accessToken: signedIn.accessToken,
            refreshToken: signedIn.refreshToken,
          };
        } catch (error) {
          // NextAuth shows a wrong password as CredentialsSignin; anything else (the platform down) is an error.
          if (isCodexApiError(error) && (error.status === 401 || error.status === 400)) return null;
          throw error;
        }
      },
    }),
  ],
  callbacks: {
    async jwt({ token, user }) {
      if (user) {
        token.accessToken = user.accessToken;
        token.refreshToken = user.refreshToken;
      }
      return token;
    },
    async session({ session, token }) {
      // Only who is signed in; the tokens stay in the encrypted cookie, read on the server.
      session.user = { id: token.sub ?? '', email: token.email ?? '', name: token.name ?? '' };
      return session;
    },
  },
  events: {
    async signOut({ token }) {
      // The platform's refresh token is revoked too, so a copied cookie is worth nothing after sign-out.
      if (token?.refreshToken && token.accessToken) {
        await platformClient({ accessToken: token.accessToken, refreshToken: token.refreshToken })
          .signOut()
          .catch(() => undefined);
      }
    },
  },
};
