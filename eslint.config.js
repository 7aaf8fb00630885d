// One linter setup: typescript-eslint's recommended type-checked rules, plus the ones that catch
// real bugs in async network code (a floating promise is a swallowed error).
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', '.bench-build/'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // protobufjs and libp2p hand back loosely typed values at a few boundaries; those are
      // narrowed explicitly where they enter, so the unsafe-* family would only add noise.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off'
    }
  },
  {
    // @bsv/sdk's root module imports all of the SDK (wallet, auth, storage, overlay): the node
    // imports the parts it uses by subpath, or a relay carries that code for nothing.
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: [{ name: '@bsv/sdk', allowTypeImports: true, message: "import from a subpath ('@bsv/sdk/primitives', '/script', '/transaction', …)" }]
      }]
    }
  },
  {
    // Tests read JSON off the wire; typing every response shape would only restate the schemas.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' }
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked
  }
)
