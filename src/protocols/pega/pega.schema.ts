import { Type } from '@sinclair/typebox';

export const PegaBody = Type.Object(
  {
    modelIdentifier: Type.String({
      minLength: 1,
      description: "A model name, a deployment's name or id, or a reference such as 'intents@production'",
      examples: ['intents'],
    }),
    text: Type.String({ description: 'The text to classify', examples: ['hello there, how are you?'] }),
  },
  { examples: [{ modelIdentifier: 'intents', text: 'hello there, how are you?' }] },
);

export const PegaResponse = Type.Object(
  {
    modelIdentifier: Type.String(),
    modelVersion: Type.String(),
    category: Type.Union([Type.String(), Type.Number()], { description: 'The predicted category' }),
    confidence: Type.Union([Type.Number(), Type.Null()], { description: "The predicted category's probability (null when the model gives none)" }),
    scores: Type.Record(Type.String(), Type.Number(), { description: "Every category's probability" }),
  },
  {
    examples: [{ modelIdentifier: 'intents', modelVersion: '1', category: 'greeting', confidence: 0.91, scores: { greeting: 0.91, goodbye: 0.04, thanks: 0.05 } }],
  },
);
